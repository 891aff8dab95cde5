// Shapes shared by the datasource, its editors and the backend: the keys are the JSON the backend
// parses (backend/src/settings.rs for the datasource settings, backend/src/query for a query), so
// renaming one here breaks the backend. Query types, thresholds and health metrics are defined in
// model/ and generated into ./generated/contract.ts (`cargo xtask contract`); this file
// re-exports them under their usual names.
import type { DataQuery, DataSourceJsonData } from '@grafana/data';

import { HEALTH_METRICS, QUERY_TYPES, type ThresholdKey } from './generated/contract';

export {
  DEFAULT_THRESHOLDS,
  HEALTH_METRICS,
  POSITIVE_THRESHOLDS,
  QUERY_TYPES,
  THRESHOLD_FIELDS,
  type ThresholdKey,
  WARNING_CRITICAL_PAIRS,
} from './generated/contract';

export type QueryType = (typeof QUERY_TYPES)[number]['value'];

export const GRANULARITIES = ['partition', 'topic', 'group'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export type HealthMetric = (typeof HEALTH_METRICS)[number];

export type Thresholds = Partial<Record<ThresholdKey, number>>;

export interface PipelineQuery extends DataQuery {
  queryType?: QueryType;
  /** Consumer group name or regex. */
  group?: string;
  /** Topic name or regex. */
  topic?: string;
  granularity?: Granularity;
  /** Flink job id, or a regex of job names. */
  job?: string;
  /** Flink vertex id, or a regex of vertex names. */
  vertex?: string;
  metric?: HealthMetric;
  timeoutSeconds?: number;
  thresholds?: Thresholds;
  /** Push a new answer over Grafana Live every `liveIntervalSeconds` (no dashboard refresh). */
  live?: boolean;
  liveIntervalSeconds?: number;
}

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export const FLINK_AUTHS = ['none', 'basic', 'bearer'] as const;

export interface PipelineOptions extends DataSourceJsonData {
  kafkaBootstrapServers?: string;
  kafkaSecurityProtocol?: (typeof SECURITY_PROTOCOLS)[number];
  kafkaSaslMechanism?: (typeof SASL_MECHANISMS)[number];
  kafkaUsername?: string;
  /** Groups lag and topology queries read when Kafka cannot list groups and a query names none. */
  kafkaConsumerGroups?: string[];
  flinkUrl?: string;
  flinkAuth?: (typeof FLINK_AUTHS)[number];
  flinkUsername?: string;
  queryTimeoutSeconds?: number;
  /** Seconds topology and health queries share one refresh (the backend checks 0 to 60; 0 is off). */
  coalesceWindowSeconds?: number;
  /** History behind the consumer-group status, in seconds (the backend checks 10 to 3600). */
  kafkaStatusWindowSeconds?: number;
  thresholds?: Thresholds;
  /** Declarative pipeline description (parsed JSON). */
  pipeline?: unknown;
}

/** Everything here is write-only: Grafana encrypts it and only reports which keys are set. */
export interface PipelineSecureJsonData {
  kafkaPassword?: string;
  kafkaTlsCaCert?: string;
  kafkaTlsClientCert?: string;
  kafkaTlsClientKey?: string;
  flinkPassword?: string;
  flinkBearerToken?: string;
  flinkTlsCaCert?: string;
}

export type SecretKey = keyof PipelineSecureJsonData;

export const SECRET_KEYS: readonly SecretKey[] = [
  'kafkaPassword',
  'kafkaTlsCaCert',
  'kafkaTlsClientCert',
  'kafkaTlsClientKey',
  'flinkPassword',
  'flinkBearerToken',
  'flinkTlsCaCert',
];

export type VariableResource = 'topics' | 'groups' | 'jobs';

export interface VariableQuery {
  resource: VariableResource;
}

export interface FlinkJob {
  id: string;
  name: string;
  state: string;
}

export interface FlinkVertex {
  id: string;
  name: string;
}
