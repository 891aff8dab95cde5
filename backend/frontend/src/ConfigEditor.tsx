// The datasource settings page. Plain settings go to jsonData, secrets only to secureJsonData
// (Grafana encrypts those and reports back only which keys are set); the checks shown here are
// the backend's (settings.rs), so a mistake is visible before "Save & test".
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import {
  Field,
  FieldSet,
  Input,
  RadioButtonGroup,
  SecretInput,
  SecretTextArea,
  TagsInput,
  Text,
  TextArea,
} from '@grafana/ui';
import React, { useState } from 'react';

import { NumberInput } from './NumberInput';
import { TIMEOUT_SECONDS } from './generated/contract';
import { timeoutProblem } from './queries';
import {
  bootstrapServersProblem,
  coalesceWindowProblem,
  flinkUrlProblem,
  hasSecret,
  isSecretConfigured,
  parsePipeline,
  resetSecret,
  setJsonField,
  setSecret,
  type Settings,
} from './secrets';
import { ThresholdsEditor } from './ThresholdsEditor';
import {
  FLINK_AUTHS,
  SASL_MECHANISMS,
  SECURITY_PROTOCOLS,
  type PipelineOptions,
  type PipelineSecureJsonData,
  type SecretKey,
} from './types';

type Props = DataSourcePluginOptionsEditorProps<PipelineOptions, PipelineSecureJsonData>;

const INPUT_WIDTH = 60;

const asOptions = <T extends string>(values: readonly T[], labels: Partial<Record<T, string>> = {}) =>
  values.map((value) => ({ value, label: labels[value] ?? value }));

const FLINK_AUTH_LABELS = { none: 'None', basic: 'Basic', bearer: 'Bearer token' };

/** What a PEM block of this kind starts with, as the text area's example. */
const pemPlaceholder = (kind: 'CERTIFICATE' | 'PRIVATE KEY') => `-----BEGIN ${kind}-----\n...\n-----END ${kind}-----`;

const PIPELINE_EXAMPLE = JSON.stringify(
  {
    jobs: [
      {
        job: 'orders-enrich',
        topics: ['orders'],
        group: 'enricher',
        sinks: [{ vertex: 'Sink: JDBC', database: 'postgres orders' }],
      },
    ],
  },
  null,
  2
);

interface SecretFieldProps {
  options: Settings;
  onOptionsChange: (options: Settings) => void;
  secretKey: SecretKey;
  label: string;
  description?: string;
  required?: boolean;
  /** A PEM certificate or key: several lines. */
  pem?: 'CERTIFICATE' | 'PRIVATE KEY';
  error?: string;
}

/** One secret: typed in once, afterwards shown only as "configured" with a Reset button. */
function SecretField({ options, onOptionsChange, secretKey, label, description, required, pem, error }: SecretFieldProps) {
  const common = {
    id: `config-${secretKey}`,
    isConfigured: isSecretConfigured(options, secretKey),
    value: options.secureJsonData?.[secretKey] ?? '',
    onReset: () => onOptionsChange(resetSecret(options, secretKey)),
  };
  return (
    <Field label={label} description={description} required={required} invalid={Boolean(error)} error={error}>
      {pem ? (
        <SecretTextArea
          {...common}
          rows={4}
          cols={INPUT_WIDTH}
          placeholder={pemPlaceholder(pem)}
          onChange={(e) => onOptionsChange(setSecret(options, secretKey, e.currentTarget.value))}
        />
      ) : (
        <SecretInput
          {...common}
          width={INPUT_WIDTH}
          onChange={(e) => onOptionsChange(setSecret(options, secretKey, e.currentTarget.value))}
        />
      )}
    </Field>
  );
}

/** Pretty-printed JSON of the saved description, for the text area's first render. */
const pipelineText = (pipeline: unknown) =>
  pipeline === undefined || pipeline === null ? '' : typeof pipeline === 'string' ? pipeline : JSON.stringify(pipeline, null, 2);

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const jsonData = options.jsonData ?? {};
  const setField = <K extends keyof PipelineOptions>(key: K, value: PipelineOptions[K] | undefined) =>
    onOptionsChange(setJsonField(options, key, value));
  const textInput = (key: 'kafkaBootstrapServers' | 'kafkaUsername' | 'flinkUrl' | 'flinkUsername') => ({
    id: `config-${key}`,
    width: INPUT_WIDTH,
    value: jsonData[key] ?? '',
    onChange: (e: React.FormEvent<HTMLInputElement>) => setField(key, e.currentTarget.value || undefined),
  });
  const secret = { options, onOptionsChange };

  // The backend accepts any case (provisioned files may say sasl_ssl); the buttons are upper case.
  const protocol = (jsonData.kafkaSecurityProtocol?.toUpperCase() ?? 'PLAINTEXT') as (typeof SECURITY_PROTOCOLS)[number];
  const mechanism = (jsonData.kafkaSaslMechanism?.toUpperCase() ?? 'PLAIN') as (typeof SASL_MECHANISMS)[number];
  const usesSasl = protocol.startsWith('SASL_');
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const flinkAuth = jsonData.flinkAuth ?? 'none';

  const [pipelineDraft, setPipelineDraft] = useState(() => pipelineText(jsonData.pipeline));
  const pipeline = parsePipeline(pipelineDraft);

  const serversProblem = bootstrapServersProblem(jsonData.kafkaBootstrapServers);
  const urlProblem = flinkUrlProblem(jsonData.flinkUrl);
  const clientPairProblem =
    usesTls && hasSecret(options, 'kafkaTlsClientCert') !== hasSecret(options, 'kafkaTlsClientKey')
      ? 'A client certificate and its key go together: set both or neither'
      : undefined;
  const queryTimeoutProblem = timeoutProblem(jsonData.queryTimeoutSeconds);
  const windowProblem = coalesceWindowProblem(jsonData.coalesceWindowSeconds);

  return (
    <>
      <FieldSet label="Kafka">
        <Field
          label="Bootstrap servers"
          description="host:port of one or more brokers, separated by commas. Leave empty if this datasource reads Flink only."
          invalid={Boolean(serversProblem)}
          error={serversProblem}
        >
          <Input {...textInput('kafkaBootstrapServers')} placeholder="kafka-1:9092,kafka-2:9092" />
        </Field>
        <Field label="Security protocol">
          <RadioButtonGroup
            id="config-kafkaSecurityProtocol"
            options={asOptions(SECURITY_PROTOCOLS)}
            value={protocol}
            onChange={(v) => setField('kafkaSecurityProtocol', v)}
          />
        </Field>
        {usesSasl && (
          <>
            <Field label="SASL mechanism">
              <RadioButtonGroup
                id="config-kafkaSaslMechanism"
                options={asOptions(SASL_MECHANISMS)}
                value={mechanism}
                onChange={(v) => setField('kafkaSaslMechanism', v)}
              />
            </Field>
            <Field label="Username" required>
              <Input {...textInput('kafkaUsername')} />
            </Field>
            <SecretField {...secret} secretKey="kafkaPassword" label="Password" required />
          </>
        )}
        {usesTls && (
          <>
            <SecretField
              {...secret}
              secretKey="kafkaTlsCaCert"
              label="CA certificate"
              description="PEM. Leave empty to trust the system's certificate authorities."
              pem="CERTIFICATE"
            />
            <SecretField
              {...secret}
              secretKey="kafkaTlsClientCert"
              label="Client certificate"
              description="PEM, for brokers that require mutual TLS."
              pem="CERTIFICATE"
            />
            <SecretField
              {...secret}
              secretKey="kafkaTlsClientKey"
              label="Client key"
              description="PEM private key of the client certificate."
              pem="PRIVATE KEY"
              error={clientPairProblem}
            />
          </>
        )}
        <Field
          label="Consumer groups"
          description="Groups to read when a lag query names none, and always in the topology and health queries; for clusters that do not let this user list groups. Press Enter after each."
        >
          <TagsInput
            id="config-kafkaConsumerGroups"
            width={INPUT_WIDTH}
            tags={jsonData.kafkaConsumerGroups ?? []}
            onChange={(groups) => setField('kafkaConsumerGroups', groups.length ? groups : undefined)}
            addOnBlur
          />
        </Field>
        <Field
          label="Consumer status window"
          description="Seconds of history behind each group's OK / WARN / STOP / STALL / REWIND status (Burrow's rules), sampled in the background. Longer than the slowest commit interval, such as a Flink job's checkpoint interval. Save & test checks it."
        >
          <NumberInput
            id="config-kafkaStatusWindowSeconds"
            value={jsonData.kafkaStatusWindowSeconds}
            placeholder="300"
            onValue={(v) => setField('kafkaStatusWindowSeconds', v)}
          />
        </Field>
      </FieldSet>

      <FieldSet label="Flink">
        <Field
          label="REST URL"
          description="The JobManager's REST API. Leave empty if this datasource reads Kafka only."
          invalid={Boolean(urlProblem)}
          error={urlProblem}
        >
          <Input {...textInput('flinkUrl')} placeholder="http://jobmanager:8081" />
        </Field>
        <Field label="Authentication">
          <RadioButtonGroup
            id="config-flinkAuth"
            options={asOptions(FLINK_AUTHS, FLINK_AUTH_LABELS)}
            value={flinkAuth}
            onChange={(v) => setField('flinkAuth', v)}
          />
        </Field>
        {flinkAuth === 'basic' && (
          <>
            <Field label="Username" required>
              <Input {...textInput('flinkUsername')} />
            </Field>
            <SecretField {...secret} secretKey="flinkPassword" label="Password" required />
          </>
        )}
        {flinkAuth === 'bearer' && <SecretField {...secret} secretKey="flinkBearerToken" label="Bearer token" required />}
        <SecretField
          {...secret}
          secretKey="flinkTlsCaCert"
          label="CA certificate"
          description="PEM, for an https URL signed by a private certificate authority."
          pem="CERTIFICATE"
        />
      </FieldSet>

      <FieldSet label="Queries">
        <Field
          label="Query timeout"
          description={`Seconds each query may take, ${TIMEOUT_SECONDS.min} to ${TIMEOUT_SECONDS.max}. A query can set its own.`}
          invalid={Boolean(queryTimeoutProblem)}
          error={queryTimeoutProblem && `The timeout ${queryTimeoutProblem}`}
        >
          <NumberInput
            id="config-queryTimeoutSeconds"
            value={jsonData.queryTimeoutSeconds}
            placeholder="10"
            invalid={Boolean(queryTimeoutProblem)}
            onValue={(v) => setField('queryTimeoutSeconds', v)}
          />
        </Field>
        <Field
          label="Coalescing window"
          description="Seconds within which topology and health queries share one refresh of Kafka and Flink, so a dashboard's panels and its alert rules ask once; each query keeps its own thresholds. At most 60; 0 turns sharing off."
          invalid={Boolean(windowProblem)}
          error={windowProblem && `The window ${windowProblem}`}
        >
          <NumberInput
            id="config-coalesceWindowSeconds"
            value={jsonData.coalesceWindowSeconds}
            placeholder="2"
            invalid={Boolean(windowProblem)}
            onValue={(v) => setField('coalesceWindowSeconds', v)}
          />
        </Field>
        <Field
          label="Pipeline description"
          description="Optional JSON: which topics and consumer group feed each Flink job and where its sinks write. Whatever it leaves out is discovered."
          invalid={Boolean(pipeline.error)}
          error={pipeline.error && `${pipeline.error}. Until it is fixed, the last valid description is kept.`}
        >
          <TextArea
            id="config-pipeline"
            rows={8}
            value={pipelineDraft}
            placeholder={PIPELINE_EXAMPLE}
            style={{ fontFamily: 'monospace' }}
            onChange={(e) => {
              const draft = e.currentTarget.value;
              setPipelineDraft(draft);
              const parsed = parsePipeline(draft);
              if (!parsed.error) {
                setField('pipeline', parsed.value);
              }
            }}
          />
        </Field>
      </FieldSet>

      <FieldSet label="Default thresholds">
        <Text element="p" color="secondary">
          When a component turns warning or critical. Empty fields use the value shown; a query can override each.
        </Text>
        <ThresholdsEditor
          idPrefix="config-thresholds"
          value={jsonData.thresholds}
          onChange={(thresholds) => setField('thresholds', thresholds)}
        />
      </FieldSet>
    </>
  );
}
