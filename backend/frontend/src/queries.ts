// Pure query logic: defaults, which fields a query type uses, completeness, template-variable
// interpolation and the parsing of the backend's resource answers.
import type { ScopedVars } from '@grafana/data';

import { LIVE_INTERVAL_SECONDS, TIMEOUT_SECONDS } from './generated/contract';

import {
  QUERY_TYPES,
  type FlinkJob,
  type FlinkVertex,
  type PipelineOptions,
  type PipelineQuery,
  type QueryType,
  type VariableResource,
} from './types';

export const DEFAULT_QUERY: Partial<PipelineQuery> = { queryType: 'topology' };

export type QueryField = 'group' | 'topic' | 'granularity' | 'job' | 'vertex' | 'metric';

// Mirrors what the backend reads per type (backend/src/query, kafka/query.rs, flink/query.rs):
// topology and health take no job; job and vertex are id-or-regex filters of every Flink type.
const FIELDS: Record<QueryType, { fields: QueryField[]; required: QueryField[] }> = {
  topology: { fields: [], required: [] },
  health: { fields: ['metric'], required: [] },
  consumerLag: { fields: ['group', 'topic', 'granularity'], required: ['group'] },
  timeLag: { fields: ['group', 'topic'], required: ['group'] },
  clusterHealth: { fields: [], required: [] },
  jobs: { fields: ['job'], required: [] },
  jobGraph: { fields: ['job', 'vertex'], required: ['job'] },
  backpressure: { fields: ['job', 'vertex'], required: ['job'] },
  watermarks: { fields: ['job', 'vertex'], required: ['job'] },
  checkpoints: { fields: ['job', 'vertex'], required: ['job'] },
  taskManagers: { fields: [], required: [] },
};

export function isQueryType(t: unknown): t is QueryType {
  return QUERY_TYPES.some((q) => q.value === t);
}

export function fieldsOf(queryType: QueryType): QueryField[] {
  return FIELDS[queryType].fields;
}

export function requiredFieldsOf(queryType: QueryType): QueryField[] {
  return FIELDS[queryType].required;
}

const QUERY_FIELDS: QueryField[] = ['group', 'topic', 'granularity', 'job', 'vertex', 'metric'];

/** Switches the type and drops the fields the new type does not use (keeping timeout/thresholds). */
export function changeQueryType(query: PipelineQuery, queryType: QueryType): PipelineQuery {
  const next: PipelineQuery = { ...query, queryType };
  const keep = new Set<string>(fieldsOf(queryType));
  for (const f of QUERY_FIELDS) {
    if (!keep.has(f)) {
      delete next[f];
    }
  }
  if (queryType === 'health' && !next.metric) {
    next.metric = 'status';
  }
  if (queryType === 'consumerLag' && !next.granularity) {
    next.granularity = 'partition';
  }
  return next;
}

/** Sets the job; a vertex picked for another job would select nothing, so it goes. */
export function withJob(query: PipelineQuery, job: string | undefined): PipelineQuery {
  const next: PipelineQuery = { ...query, job };
  if (!job) {
    delete next.job;
  }
  if (job !== query.job) {
    delete next.vertex;
  }
  return next;
}

/** What the datasource settings contribute to a query: groups for lag queries, thresholds. */
export type QueryDefaults = Pick<PipelineOptions, 'kafkaConsumerGroups' | 'thresholds'>;

/** A timeout the backend accepts (`TIMEOUT_SECONDS` of model/src/timeouts.rs), or why not. */
export function timeoutProblem(seconds: number | undefined): string | undefined {
  return outOfRange(TIMEOUT_SECONDS, seconds);
}

/** A live interval the backend accepts (`LIVE_INTERVAL_SECONDS`), or why not. */
export function liveIntervalProblem(seconds: number | undefined): string | undefined {
  return outOfRange(LIVE_INTERVAL_SECONDS, seconds);
}

function outOfRange({ min, max }: { min: number; max: number }, seconds: number | undefined): string | undefined {
  if (seconds === undefined || (seconds >= min && seconds <= max)) {
    return undefined;
  }
  return `must be between ${min} and ${max} seconds`;
}

/** What is missing or out of range for the backend to answer, or an empty list. */
export function missingFields(query: PipelineQuery, defaults: QueryDefaults = {}): string[] {
  if (!isQueryType(query.queryType)) {
    return ['queryType'];
  }
  const hasDefaultGroups = (defaults.kafkaConsumerGroups ?? []).some((g) => g.trim() !== '');
  const missing: string[] = requiredFieldsOf(query.queryType)
    .filter((f) => !(f === 'group' && hasDefaultGroups))
    .filter((f) => !String(query[f] ?? '').trim());
  if (timeoutProblem(query.timeoutSeconds)) {
    missing.push('timeoutSeconds');
  }
  if (query.live && liveIntervalProblem(query.liveIntervalSeconds)) {
    missing.push('liveIntervalSeconds');
  }
  return missing;
}

/** `filterQuery`: hidden and incomplete queries are not sent. */
export function isRunnable(query: PipelineQuery, defaults?: QueryDefaults): boolean {
  return !query.hide && missingFields(query, defaults).length === 0;
}

const REGEX_SPECIALS = /[.*+?^${}()|[\]\\]/g;

export function escapeRegex(s: string): string {
  return s.replace(REGEX_SPECIALS, '\\$&');
}

/**
 * Formats a variable's value for a regex field: names are literal, so they are escaped; several
 * values become an alternation the backend matches as a whole.
 */
export function regexFormat(value: string | string[]): string {
  if (Array.isArray(value)) {
    if (value.length === 1) {
      return escapeRegex(value[0]);
    }
    return `(${value.map(escapeRegex).join('|')})`;
  }
  return escapeRegex(value);
}

export type Replace = (
  target: string,
  scopedVars?: ScopedVars,
  format?: string | ((value: string | string[]) => string)
) => string;

/** The backend reads all four as anchored regexes (a job or vertex also matches by id). */
const REGEX_FIELDS = ['group', 'topic', 'job', 'vertex'] as const;

/** Resolves $variables in the name fields, each value as a literal inside the field's regex. */
export function interpolateQuery(query: PipelineQuery, replace: Replace, scopedVars?: ScopedVars): PipelineQuery {
  const next: PipelineQuery = { ...query };
  for (const f of REGEX_FIELDS) {
    if (next[f]) {
      next[f] = replace(next[f]!, scopedVars, regexFormat);
    }
  }
  return next;
}

export class ResourceError extends Error {}

function listOf(body: unknown, key: string, path: string): unknown[] {
  const list = (body as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(list)) {
    throw new ResourceError(`${path} answered without a "${key}" list`);
  }
  return list;
}

/** A topic or group for a dropdown: its name and what the backend said about it. */
export interface NamedItem {
  name: string;
  description?: string;
}

function describe(key: 'topics' | 'groups', x: Record<string, unknown>): string | undefined {
  if (key === 'topics' && typeof x.partitions === 'number') {
    return `${x.partitions} partition${x.partitions === 1 ? '' : 's'}`;
  }
  if (key === 'groups' && (typeof x.state === 'string' || typeof x.members === 'number')) {
    return [x.state, typeof x.members === 'number' ? `${x.members} member${x.members === 1 ? '' : 's'}` : undefined]
      .filter(Boolean)
      .join(', ');
  }
  return undefined;
}

/** `/kafka/topics` and `/kafka/groups` list objects with a `name`; plain strings are accepted too. */
export function parseNamedItems(body: unknown, key: 'topics' | 'groups', path: string): NamedItem[] {
  return listOf(body, key, path).flatMap((x): NamedItem[] => {
    if (typeof x === 'string') {
      return [{ name: x }];
    }
    if (typeof x === 'object' && x !== null && typeof (x as { name?: unknown }).name === 'string') {
      const o = x as Record<string, unknown>;
      return [{ name: o.name as string, description: describe(key, o) }];
    }
    return [];
  });
}

export function parseNames(body: unknown, key: 'topics' | 'groups', path: string): string[] {
  return parseNamedItems(body, key, path).map((i) => i.name);
}

/**
 * The error an answer carries next to its (then empty) list: `/kafka/groups` answers 200 with
 * `error` when Kafka would not list the groups, since a typed group name still works.
 */
export function answerError(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === 'string' && error !== '' ? error : undefined;
}

export function parseJobs(body: unknown, path = '/flink/jobs'): FlinkJob[] {
  return listOf(body, 'jobs', path)
    .filter((j): j is Record<string, unknown> => typeof j === 'object' && j !== null && typeof (j as FlinkJob).id === 'string')
    .map((j) => ({ id: String(j.id), name: String(j.name ?? j.id), state: String(j.state ?? '') }));
}

export function parseVertices(body: unknown, path: string): FlinkVertex[] {
  return listOf(body, 'vertices', path)
    .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && typeof (v as FlinkVertex).id === 'string')
    .map((v) => ({ id: String(v.id), name: String(v.name ?? v.id) }));
}

export const RESOURCE_PATHS: Record<VariableResource, string> = {
  topics: '/kafka/topics',
  groups: '/kafka/groups',
  jobs: '/flink/jobs',
};

/** A Flink job id (32 hex digits): only those have a vertices resource, regexes and $variables not. */
export function isJobId(job: string | undefined): job is string {
  return /^[0-9a-f]{32}$/i.test(job ?? '');
}

export function verticesPath(job: string): string {
  return `/flink/jobs/${encodeURIComponent(job)}/vertices`;
}

/** Variable values for one resource answer: jobs by name, with the id as value. */
export function variableValues(resource: VariableResource, body: unknown): Array<{ text: string; value: string }> {
  const path = RESOURCE_PATHS[resource];
  if (resource === 'jobs') {
    return parseJobs(body, path).map((j) => ({ text: j.name, value: j.id }));
  }
  const names = parseNames(body, resource, path);
  const error = answerError(body);
  // An empty variable without a reason would look like an empty cluster.
  if (names.length === 0 && error) {
    throw new ResourceError(`${path}: ${error}`);
  }
  return names.map((n) => ({ text: n, value: n }));
}

/** A resource call's failure as one line a user can act on. */
export function resourceErrorMessage(path: string, err: unknown): string {
  const e = err as { data?: { message?: string; error?: string }; message?: string; status?: number; statusText?: string };
  const detail = e?.data?.message || e?.data?.error || e?.message || e?.statusText || String(err);
  return `Could not load ${path}: ${detail}`;
}
