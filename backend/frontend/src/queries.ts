// Pure query logic: defaults, which fields a query type uses, completeness, template-variable
// interpolation and the parsing of the backend's resource answers.
import type { ScopedVars } from '@grafana/data';

import {
  QUERY_TYPES,
  type FlinkJob,
  type FlinkVertex,
  type PipelineQuery,
  type QueryType,
  type VariableResource,
} from './types';

export const DEFAULT_QUERY: Partial<PipelineQuery> = { queryType: 'topology' };

export type QueryField = 'group' | 'topic' | 'granularity' | 'job' | 'vertex' | 'metric';

const FIELDS: Record<QueryType, { fields: QueryField[]; required: QueryField[] }> = {
  topology: { fields: ['job'], required: [] },
  health: { fields: ['metric'], required: [] },
  consumerLag: { fields: ['group', 'topic', 'granularity'], required: [] },
  timeLag: { fields: ['group', 'topic', 'granularity'], required: [] },
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

/** Switches the type and drops the fields the new type does not use (keeping timeout/thresholds). */
export function changeQueryType(query: PipelineQuery, queryType: QueryType): PipelineQuery {
  const next: PipelineQuery = { ...query, queryType };
  const keep = new Set<string>(fieldsOf(queryType));
  for (const f of ['group', 'topic', 'granularity', 'job', 'vertex', 'metric'] as QueryField[]) {
    if (!keep.has(f)) {
      delete next[f];
    }
  }
  if (queryType === 'health' && !next.metric) {
    next.metric = 'status';
  }
  if ((queryType === 'consumerLag' || queryType === 'timeLag') && !next.granularity) {
    next.granularity = 'partition';
  }
  return next;
}

/** What is missing for the backend to answer, or an empty list. */
export function missingFields(query: PipelineQuery): string[] {
  if (!isQueryType(query.queryType)) {
    return ['queryType'];
  }
  const missing: string[] = requiredFieldsOf(query.queryType).filter((f) => !String(query[f] ?? '').trim());
  if (query.timeoutSeconds !== undefined && !(query.timeoutSeconds > 0)) {
    missing.push('timeoutSeconds');
  }
  return missing;
}

/** `filterQuery`: hidden and incomplete queries are not sent. */
export function isRunnable(query: PipelineQuery): boolean {
  return !query.hide && missingFields(query).length === 0;
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

/** Resolves $variables in the text fields; group/topic with regex formatting, the rest as text. */
export function interpolateQuery(query: PipelineQuery, replace: Replace, scopedVars?: ScopedVars): PipelineQuery {
  const next: PipelineQuery = { ...query };
  for (const f of ['group', 'topic'] as const) {
    if (next[f]) {
      next[f] = replace(next[f]!, scopedVars, regexFormat);
    }
  }
  for (const f of ['job', 'vertex'] as const) {
    if (next[f]) {
      next[f] = replace(next[f]!, scopedVars);
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

export function parseNames(body: unknown, key: 'topics' | 'groups', path: string): string[] {
  return listOf(body, key, path).filter((x): x is string => typeof x === 'string');
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

export function verticesPath(job: string): string {
  return `/flink/jobs/${encodeURIComponent(job)}/vertices`;
}

/** Variable values for one resource answer: jobs by name, with the id as value. */
export function variableValues(resource: VariableResource, body: unknown): Array<{ text: string; value: string }> {
  const path = RESOURCE_PATHS[resource];
  if (resource === 'jobs') {
    return parseJobs(body, path).map((j) => ({ text: j.name, value: j.id }));
  }
  return parseNames(body, resource, path).map((n) => ({ text: n, value: n }));
}

/** A resource call's failure as one line a user can act on. */
export function resourceErrorMessage(path: string, err: unknown): string {
  const e = err as { data?: { message?: string; error?: string }; message?: string; status?: number; statusText?: string };
  const detail = e?.data?.message || e?.data?.error || e?.message || e?.statusText || String(err);
  return `Could not load ${path}: ${detail}`;
}
