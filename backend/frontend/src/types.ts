// Shapes shared by the datasource, its editors and the backend (keys match backend/src/settings.rs
// and the query JSON the backend parses; see the team brief).
import type { DataQuery, DataSourceJsonData } from '@grafana/data';

export const QUERY_TYPES = [
  { value: 'topology', label: 'Topology', description: 'Pipeline graph with the health of every node' },
  { value: 'health', label: 'Health', description: 'One value per component (status or a metric)' },
  { value: 'consumerLag', label: 'Consumer lag', description: 'Kafka consumer group lag in messages' },
  { value: 'timeLag', label: 'Time lag', description: 'Kafka consumer group lag in seconds' },
  { value: 'clusterHealth', label: 'Cluster health', description: 'Kafka brokers and partitions' },
  { value: 'jobs', label: 'Jobs', description: 'Flink jobs and their state' },
  { value: 'jobGraph', label: 'Job graph', description: 'Vertices and edges of a Flink job' },
  { value: 'backpressure', label: 'Backpressure', description: 'Backpressured and busy ratio per vertex' },
  { value: 'watermarks', label: 'Watermarks', description: 'Watermark lag per vertex' },
  { value: 'checkpoints', label: 'Checkpoints', description: 'Checkpoint age, duration and failures' },
  { value: 'taskManagers', label: 'TaskManagers', description: 'Heap and CPU of each TaskManager' },
] as const;

export type QueryType = (typeof QUERY_TYPES)[number]['value'];

export const GRANULARITIES = ['partition', 'topic', 'group'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const HEALTH_METRICS = [
  'status',
  'lag',
  'time lag',
  'backpressure',
  'busy',
  'watermark lag',
  'checkpoint age',
] as const;
export type HealthMetric = (typeof HEALTH_METRICS)[number];

/** camelCase fields of `pipeline_model::Thresholds`, with how the editors label them. */
export const THRESHOLD_FIELDS = [
  { key: 'lagWarning', label: 'Lag warning', unit: 'messages' },
  { key: 'lagCritical', label: 'Lag critical', unit: 'messages' },
  { key: 'timeLagWarningSeconds', label: 'Time lag warning', unit: 's' },
  { key: 'timeLagCriticalSeconds', label: 'Time lag critical', unit: 's' },
  { key: 'backpressureWarning', label: 'Backpressure warning', unit: 'ratio 0..1' },
  { key: 'backpressureCritical', label: 'Backpressure critical', unit: 'ratio 0..1' },
  { key: 'busyBottleneck', label: 'Busy bottleneck', unit: 'ratio 0..1' },
  { key: 'watermarkLagWarningSeconds', label: 'Watermark lag warning', unit: 's' },
  { key: 'watermarkLagCriticalSeconds', label: 'Watermark lag critical', unit: 's' },
  { key: 'watermarkStalledSeconds', label: 'Watermark stalled after', unit: 's' },
  { key: 'checkpointIntervalSeconds', label: 'Checkpoint interval', unit: 's' },
  { key: 'checkpointAgeFactor', label: 'Checkpoint age factor', unit: 'intervals' },
  { key: 'heapWarning', label: 'Heap warning', unit: 'ratio 0..1' },
  { key: 'heapCritical', label: 'Heap critical', unit: 'ratio 0..1' },
  { key: 'cpuWarning', label: 'CPU warning', unit: 'ratio 0..1' },
  { key: 'cpuCritical', label: 'CPU critical', unit: 'ratio 0..1' },
] as const;

/** `Thresholds::default()` in model/src/thresholds.rs, shown as placeholders. */
export const DEFAULT_THRESHOLDS: Record<(typeof THRESHOLD_FIELDS)[number]['key'], number> = {
  lagWarning: 1000,
  lagCritical: 10000,
  timeLagWarningSeconds: 60,
  timeLagCriticalSeconds: 300,
  backpressureWarning: 0.5,
  backpressureCritical: 0.8,
  busyBottleneck: 0.8,
  watermarkLagWarningSeconds: 60,
  watermarkLagCriticalSeconds: 300,
  watermarkStalledSeconds: 120,
  checkpointIntervalSeconds: 60,
  checkpointAgeFactor: 3,
  heapWarning: 0.85,
  heapCritical: 0.95,
  cpuWarning: 0.9,
  cpuCritical: 0.98,
};

export type ThresholdKey = (typeof THRESHOLD_FIELDS)[number]['key'];
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
