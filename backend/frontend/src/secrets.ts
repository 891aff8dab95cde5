// Pure updates and checks of the datasource settings the ConfigEditor hands to onOptionsChange.
// Secrets only ever go to secureJsonData; plain settings only to jsonData (a secret key there is
// refused). The checks mirror backend/src/settings.rs so mistakes show before "Save & test".
import type { DataSourceSettings } from '@grafana/data';

import {
  DEFAULT_THRESHOLDS,
  POSITIVE_THRESHOLDS,
  SECRET_KEYS,
  THRESHOLD_FIELDS,
  type PipelineOptions,
  type PipelineSecureJsonData,
  type SecretKey,
  type ThresholdKey,
  type Thresholds,
  WARNING_CRITICAL_PAIRS,
} from './types';

export type Settings = DataSourceSettings<PipelineOptions, PipelineSecureJsonData>;

export function isSecretKey(key: string): key is SecretKey {
  return (SECRET_KEYS as readonly string[]).includes(key);
}

/** Sets a plain jsonData field; `undefined` removes it. */
export function setJsonField<K extends keyof PipelineOptions>(
  options: Settings,
  key: K,
  value: PipelineOptions[K] | undefined
): Settings {
  if (isSecretKey(key as string)) {
    throw new Error(`${String(key)} is a secret and belongs in secureJsonData`);
  }
  const jsonData = { ...options.jsonData };
  if (value === undefined) {
    delete jsonData[key];
  } else {
    jsonData[key] = value;
  }
  return { ...options, jsonData };
}

export function setSecret(options: Settings, key: SecretKey, value: string): Settings {
  return { ...options, secureJsonData: { ...options.secureJsonData, [key]: value } };
}

/** What SecretInput's "Reset" does: forget the stored value so the user can type a new one. */
export function resetSecret(options: Settings, key: SecretKey): Settings {
  return {
    ...options,
    secureJsonFields: { ...options.secureJsonFields, [key]: false },
    secureJsonData: { ...options.secureJsonData, [key]: '' },
  };
}

export function isSecretConfigured(options: Settings, key: SecretKey): boolean {
  return Boolean(options.secureJsonFields?.[key]);
}

/** Stored already, or typed in now: what the backend will have after saving. */
export function hasSecret(options: Settings, key: SecretKey): boolean {
  return isSecretConfigured(options, key) || Boolean(options.secureJsonData?.[key]?.trim());
}

/** A number typed into a field: empty means "not set", anything else must be a finite number >= 0. */
export function parseNumberInput(text: string): { value?: number; error?: string } {
  const t = text.trim();
  if (t === '') {
    return {};
  }
  const n = Number(t);
  if (!Number.isFinite(n) || n < 0) {
    return { error: `"${t}" is not a non-negative number` };
  }
  return { value: n };
}

/** Sets one threshold (or removes it with `undefined`); an empty object becomes `undefined`. */
export function withThreshold(thresholds: Thresholds | undefined, key: ThresholdKey, value?: number) {
  const next: Thresholds = { ...thresholds };
  if (value === undefined) {
    delete next[key];
  } else {
    next[key] = value;
  }
  return Object.keys(next).length ? next : undefined;
}

const LABELS = Object.fromEntries(THRESHOLD_FIELDS.map((f) => [f.key, f.label])) as Record<ThresholdKey, string>;

/**
 * Checks the thresholds the way the backend will: on the set values over `fallback` (what applies
 * to empty fields), so a warning above the default critical is caught too. Only problems that
 * involve a set value are reported.
 */
export function thresholdProblems(t: Thresholds | undefined, fallback: Thresholds = DEFAULT_THRESHOLDS): string[] {
  if (!t) {
    return [];
  }
  const effective = { ...DEFAULT_THRESHOLDS, ...fallback, ...t };
  const isSet = (k: ThresholdKey) => t[k] !== undefined;
  const problems: string[] = [];
  for (const f of THRESHOLD_FIELDS) {
    const v = t[f.key];
    if (v !== undefined && f.unit === 'ratio 0..1' && v > 1) {
      problems.push(`${f.label} is a ratio between 0 and 1, got ${v}`);
    }
  }
  for (const key of POSITIVE_THRESHOLDS) {
    const v = t[key];
    if (v !== undefined && v <= 0) {
      problems.push(`${LABELS[key]} must be more than 0`);
    }
  }
  for (const [w, c] of WARNING_CRITICAL_PAIRS) {
    if ((isSet(w) || isSet(c)) && effective[w] > effective[c]) {
      problems.push(`${LABELS[w]} (${effective[w]}) is above ${LABELS[c].toLowerCase()} (${effective[c]})`);
    }
  }
  return problems;
}

/** `host:port,host:port` as the backend accepts it, or what is wrong. */
export function bootstrapServersProblem(text: string | undefined): string | undefined {
  const servers = (text ?? '').trim();
  if (servers === '') {
    return undefined;
  }
  const bad = servers
    .split(',')
    .map((s) => s.trim())
    .find((s) => {
      const colon = s.lastIndexOf(':');
      const port = s.slice(colon + 1);
      return colon <= 0 || !/^\d+$/.test(port) || Number(port) > 65535;
    });
  return bad === undefined ? undefined : `"${bad}" is not host:port (example: kafka-1:9092,kafka-2:9092)`;
}

export const MAX_COALESCE_WINDOW_SECONDS = 60;

/** A coalescing window the backend accepts (0 to 60 s), or why not. */
export function coalesceWindowProblem(seconds: number | undefined): string | undefined {
  if (seconds === undefined || (seconds >= 0 && seconds <= MAX_COALESCE_WINDOW_SECONDS)) {
    return undefined;
  }
  return `must be between 0 (every query refreshes on its own) and ${MAX_COALESCE_WINDOW_SECONDS} seconds`;
}

export function flinkUrlProblem(text: string | undefined): string | undefined {
  const url = (text ?? '').trim();
  if (url === '' || url.startsWith('http://') || url.startsWith('https://')) {
    return undefined;
  }
  return `"${url}" must start with http:// or https:// (example: http://jobmanager:8081)`;
}

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first key of `o` not in `allowed` (the backend refuses unknown keys). */
const unknownKey = (o: JsonObject, allowed: string[]) => Object.keys(o).find((k) => !allowed.includes(k));

/** Where a description differs from backend/src/topology/description.rs, or undefined. */
function pipelineShapeProblem(p: JsonObject): string | undefined {
  const extra = unknownKey(p, ['jobs']);
  if (extra) {
    return `unknown field "${extra}" (expected "jobs")`;
  }
  if (p.jobs === undefined) {
    return undefined;
  }
  if (!Array.isArray(p.jobs)) {
    return '"jobs" must be a list';
  }
  for (const [i, link] of p.jobs.entries()) {
    const at = `jobs[${i}]`;
    if (!isObject(link)) {
      return `${at} must be an object`;
    }
    const extraInLink = unknownKey(link, ['job', 'topics', 'group', 'sinks']);
    if (extraInLink) {
      return `${at}: unknown field "${extraInLink}"`;
    }
    if (typeof link.job !== 'string') {
      return `${at}.job must be the job's name or id`;
    }
    if (link.topics !== undefined && !(Array.isArray(link.topics) && link.topics.every((t) => typeof t === 'string'))) {
      return `${at}.topics must be a list of topic names`;
    }
    if (link.group !== undefined && link.group !== null && typeof link.group !== 'string') {
      return `${at}.group must be a consumer group name`;
    }
    if (link.sinks !== undefined && !Array.isArray(link.sinks)) {
      return `${at}.sinks must be a list`;
    }
    for (const [j, sink] of ((link.sinks as unknown[] | undefined) ?? []).entries()) {
      const vertexOk = isObject(sink) && (sink.vertex == null || typeof sink.vertex === 'string');
      if (!isObject(sink) || !vertexOk || typeof sink.database !== 'string' || unknownKey(sink, ['vertex', 'database'])) {
        return `${at}.sinks[${j}] must be {"vertex": "...", "database": "..."} (vertex optional)`;
      }
    }
  }
  return undefined;
}

/** The pipeline description: parsed JSON object, or the reason the backend would refuse it. */
export function parsePipeline(text: string): { value?: JsonObject; error?: string } {
  if (text.trim() === '') {
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `Invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!isObject(value)) {
    return { error: 'The pipeline description must be a JSON object' };
  }
  const problem = pipelineShapeProblem(value);
  return problem ? { error: `Pipeline description: ${problem}` } : { value };
}
