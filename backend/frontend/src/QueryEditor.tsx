// The query editor: a query type, then only the fields that type reads. Dropdowns are filled from
// the backend's resources, but every name field also takes a typed name, regex or $variable, so
// the editor keeps working when Kafka or Flink cannot be listed.
import type { QueryEditorProps } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import {
  Alert,
  Collapse,
  Combobox,
  type ComboboxOption,
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  RadioButtonGroup,
} from '@grafana/ui';
import React, { useEffect, useMemo, useState } from 'react';

import type { DataSource, EditorSource, ResourceSource } from './datasource';
import { NumberInput } from './NumberInput';
import {
  RESOURCE_PATHS,
  answerError,
  changeQueryType,
  fieldsOf,
  isJobId,
  isRunnable,
  liveIntervalProblem,
  missingFields,
  parseJobs,
  parseNamedItems,
  parseVertices,
  resourceErrorMessage,
  timeoutProblem,
  verticesPath,
  withJob,
  type QueryField,
} from './queries';
import { LIVE_INTERVAL_SECONDS } from './generated/contract';
import { ThresholdsEditor } from './ThresholdsEditor';
import {
  DEFAULT_THRESHOLDS,
  GRANULARITIES,
  HEALTH_METRICS,
  QUERY_TYPES,
  type Granularity,
  type HealthMetric,
  type PipelineOptions,
  type PipelineQuery,
  type QueryType,
} from './types';

type Props = Omit<QueryEditorProps<DataSource, PipelineQuery, PipelineOptions>, 'datasource'> & {
  datasource: EditorSource;
};

type Options = Array<ComboboxOption<string>>;
type ToOptions = (body: unknown, path: string) => Options;

const LABEL_WIDTH = 20;
const NAME_WIDTH = 36;

const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A dropdown option; `description` only when there is one (an empty one still takes a line). */
const option = (label: string, value: string, description?: string): ComboboxOption<string> =>
  description ? { label, value, description } : { label, value };

const QUERY_TYPE_OPTIONS: Array<ComboboxOption<QueryType>> = QUERY_TYPES.map((q) => ({ ...q }));
const GRANULARITY_OPTIONS = GRANULARITIES.map((g) => ({ value: g, label: capitalised(g) }));
const METRIC_OPTIONS = HEALTH_METRICS.map((m) => option(capitalised(m), m));

const topicOptions: ToOptions = (body, path) =>
  parseNamedItems(body, 'topics', path).map((t) => option(t.name, t.name, t.description));
const groupOptions: ToOptions = (body, path) =>
  parseNamedItems(body, 'groups', path).map((g) => option(g.name, g.name, g.description));
const jobOptions: ToOptions = (body, path) =>
  parseJobs(body, path).map((j) => option(j.name, j.id, [j.state, j.id].filter(Boolean).join(' · ')));
const vertexOptions: ToOptions = (body, path) =>
  parseVertices(body, path).map((v) => option(v.name, v.id, v.id));

interface Loaded {
  options: Options;
  loading: boolean;
  error?: string;
}

/** Loads one resource (when `path` is set) into dropdown options; failures become a message. */
function useResourceOptions(source: ResourceSource, path: string | undefined, toOptions: ToOptions): Loaded {
  const [loaded, setLoaded] = useState<Loaded>({ options: [], loading: false });
  useEffect(() => {
    if (!path) {
      setLoaded({ options: [], loading: false });
      return;
    }
    let current = true;
    setLoaded({ options: [], loading: true });
    source.getResource(path).then(
      (body) => {
        if (!current) {
          return;
        }
        try {
          const listError = answerError(body);
          setLoaded({
            options: toOptions(body, path),
            loading: false,
            error: listError && resourceErrorMessage(path, new Error(listError)),
          });
        } catch (err) {
          setLoaded({ options: [], loading: false, error: resourceErrorMessage(path, err) });
        }
      },
      (err) => current && setLoaded({ options: [], loading: false, error: resourceErrorMessage(path, err) })
    );
    // An answer for a path the editor has moved away from is dropped.
    return () => {
      current = false;
    };
  }, [source, path, toOptions]);
  return loaded;
}

/** Dashboard variables, offered in every name dropdown. */
function useVariableOptions(): Options {
  return useMemo(
    () => getTemplateSrv().getVariables().map((v) => option(`$${v.name}`, `$${v.name}`, 'Dashboard variable')),
    []
  );
}

interface NameFieldProps {
  id: string;
  label: string;
  tooltip: string;
  value?: string;
  loaded: Loaded;
  variables: Options;
  missing: boolean;
  placeholder: string;
  onChange: (value?: string) => void;
}

/** A name, regex or $variable: picked from the loaded list or typed. */
function NameField({ id, label, tooltip, value, loaded, variables, missing, placeholder, onChange }: NameFieldProps) {
  return (
    <InlineField
      label={label}
      labelWidth={LABEL_WIDTH}
      tooltip={tooltip}
      htmlFor={id}
      invalid={missing}
      error={missing ? 'Required' : undefined}
    >
      <Combobox
        id={id}
        width={NAME_WIDTH}
        options={[...loaded.options, ...variables]}
        value={value ?? null}
        loading={loaded.loading}
        placeholder={placeholder}
        createCustomValue
        customValueDescription="Use as typed (a name or a regex)"
        isClearable
        onChange={(o) => onChange(o?.value || undefined)}
      />
    </InlineField>
  );
}

export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const defaults = datasource.queryDefaults ?? {};
  const fields = query.queryType ? fieldsOf(query.queryType) : [];
  const uses = (f: QueryField) => fields.includes(f);
  const missing = missingFields(query, defaults);
  const variables = useVariableOptions();
  const [thresholdsOpen, setThresholdsOpen] = useState(false);

  const topics = useResourceOptions(datasource, uses('topic') ? RESOURCE_PATHS.topics : undefined, topicOptions);
  const groups = useResourceOptions(datasource, uses('group') ? RESOURCE_PATHS.groups : undefined, groupOptions);
  const jobs = useResourceOptions(datasource, uses('job') ? RESOURCE_PATHS.jobs : undefined, jobOptions);
  // Only a job id has vertices to list; for a regex or $variable the vertex is typed.
  const vertices = useResourceOptions(
    datasource,
    uses('vertex') && isJobId(query.job) ? verticesPath(query.job) : undefined,
    vertexOptions
  );
  const loadErrors = [groups, topics, jobs, vertices].map((l) => l.error).filter((e): e is string => Boolean(e));

  /** A finished choice: saved, and run when the query is complete. */
  const choose = (next: PipelineQuery) => {
    onChange(next);
    if (isRunnable(next, defaults)) {
      onRunQuery();
    }
  };
  /** Typed numbers are saved as they change and run when the field is left. */
  const runIfComplete = () => {
    if (isRunnable(query, defaults)) {
      onRunQuery();
    }
  };
  const nameField = (
    f: 'group' | 'topic' | 'job' | 'vertex',
    props: Pick<NameFieldProps, 'label' | 'tooltip' | 'loaded' | 'placeholder'>
  ) => (
    <NameField
      {...props}
      id={`query-${f}-${query.refId}`}
      value={query[f]}
      variables={variables}
      missing={missing.includes(f)}
      onChange={(v) => choose(f === 'job' ? withJob(query, v) : { ...query, [f]: v })}
    />
  );
  const groupTooltip = defaults.kafkaConsumerGroups?.length
    ? `A group name or a regex of group names. Empty: the datasource's groups (${defaults.kafkaConsumerGroups.join(', ')}).`
    : 'A group name or a regex of group names.';
  const timeoutError = timeoutProblem(query.timeoutSeconds);
  const intervalError = query.live ? liveIntervalProblem(query.liveIntervalSeconds) : undefined;
  const overrides = Object.keys(query.thresholds ?? {}).length;

  return (
    <>
      <InlineFieldRow>
        <InlineField
          label="Query type"
          labelWidth={LABEL_WIDTH}
          htmlFor={`query-type-${query.refId}`}
          invalid={missing.includes('queryType')}
          error="Choose a query type"
        >
          <Combobox
            id={`query-type-${query.refId}`}
            width={NAME_WIDTH}
            options={QUERY_TYPE_OPTIONS}
            value={query.queryType ?? null}
            onChange={(o) => choose(changeQueryType(query, o.value))}
          />
        </InlineField>
        {uses('metric') && (
          <InlineField label="Metric" labelWidth={LABEL_WIDTH} tooltip="The number per component: status is 0 ok, 1 warning, 2 critical, 3 unknown">
            <Combobox
              id={`query-metric-${query.refId}`}
              width={24}
              options={METRIC_OPTIONS}
              value={query.metric ?? 'status'}
              onChange={(o) => choose({ ...query, metric: o.value as HealthMetric })}
            />
          </InlineField>
        )}
      </InlineFieldRow>

      {(uses('group') || uses('topic')) && (
        <InlineFieldRow>
          {nameField('group', {
            label: 'Consumer group',
            tooltip: groupTooltip,
            loaded: groups,
            placeholder: defaults.kafkaConsumerGroups?.length ? "Datasource's groups" : 'Choose or type a group',
          })}
          {nameField('topic', {
            label: 'Topic',
            tooltip: 'A topic name or a regex of topic names. Empty: every topic of the group.',
            loaded: topics,
            placeholder: 'All topics',
          })}
          {uses('granularity') && (
            <InlineField label="Granularity" labelWidth={LABEL_WIDTH} tooltip="One series per partition, per topic or per group">
              <RadioButtonGroup<Granularity>
                options={GRANULARITY_OPTIONS}
                value={query.granularity ?? 'partition'}
                onChange={(granularity) => choose({ ...query, granularity })}
              />
            </InlineField>
          )}
        </InlineFieldRow>
      )}

      {uses('job') && (
        <InlineFieldRow>
          {nameField('job', {
            label: 'Job',
            tooltip: 'A job (its id is saved), or a regex of job names. Empty: every job.',
            loaded: jobs,
            placeholder: missing.includes('job') ? 'Choose or type a job' : 'All jobs',
          })}
          {uses('vertex') &&
            nameField('vertex', {
              label: 'Vertex',
              tooltip: 'A vertex of the job (its id is saved), or a regex of vertex names. Empty: every vertex.',
              loaded: vertices,
              placeholder: 'All vertices',
            })}
        </InlineFieldRow>
      )}

      <InlineFieldRow>
        <InlineField
          label="Timeout"
          labelWidth={LABEL_WIDTH}
          tooltip="Seconds this query may take. Empty: the datasource's timeout."
          htmlFor={`query-timeout-${query.refId}`}
          invalid={Boolean(timeoutError)}
          error={timeoutError && `The timeout ${timeoutError}`}
        >
          <NumberInput
            id={`query-timeout-${query.refId}`}
            value={query.timeoutSeconds}
            placeholder="default"
            invalid={Boolean(timeoutError)}
            onValue={(timeoutSeconds) => onChange({ ...query, timeoutSeconds })}
            onBlur={runIfComplete}
          />
        </InlineField>
        <InlineField
          label="Live"
          tooltip="Push a new answer over Grafana Live every interval, without the dashboard refreshing (for wall screens)"
          htmlFor={`query-live-${query.refId}`}
        >
          <InlineSwitch
            id={`query-live-${query.refId}`}
            value={Boolean(query.live)}
            onChange={(e) => choose({ ...query, live: e.currentTarget.checked })}
          />
        </InlineField>
        {query.live && (
          <InlineField
            label="Every (s)"
            tooltip={`Seconds between pushes, ${LIVE_INTERVAL_SECONDS.min} to ${LIVE_INTERVAL_SECONDS.max}. Empty: ${LIVE_INTERVAL_SECONDS.default}.`}
            htmlFor={`query-live-interval-${query.refId}`}
            invalid={Boolean(intervalError)}
            error={intervalError && `The interval ${intervalError}`}
          >
            <NumberInput
              id={`query-live-interval-${query.refId}`}
              value={query.liveIntervalSeconds}
              placeholder={String(LIVE_INTERVAL_SECONDS.default)}
              invalid={Boolean(intervalError)}
              onValue={(liveIntervalSeconds) => onChange({ ...query, liveIntervalSeconds })}
              onBlur={runIfComplete}
            />
          </InlineField>
        )}
      </InlineFieldRow>

      <Collapse
        label={overrides ? `Thresholds (${overrides} overridden)` : 'Thresholds'}
        isOpen={thresholdsOpen}
        onToggle={() => setThresholdsOpen(!thresholdsOpen)}
      >
        <ThresholdsEditor
          idPrefix={`query-thresholds-${query.refId}`}
          value={query.thresholds}
          fallback={{ ...DEFAULT_THRESHOLDS, ...defaults.thresholds }}
          onChange={(thresholds) => onChange({ ...query, thresholds })}
          onBlur={runIfComplete}
        />
      </Collapse>

      {loadErrors.length > 0 && (
        <Alert severity="warning" title="Some lists could not be loaded: type names, regexes or $variables instead">
          {loadErrors.map((e) => (
            <div key={e}>{e}</div>
          ))}
        </Alert>
      )}
    </>
  );
}
