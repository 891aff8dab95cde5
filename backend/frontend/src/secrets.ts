// Pure updates of the datasource settings the ConfigEditor hands to onOptionsChange. Secrets only
// ever go to secureJsonData; plain settings only to jsonData (a secret key there is refused).
import type { DataSourceSettings } from '@grafana/data';

import {
  SECRET_KEYS,
  THRESHOLD_FIELDS,
  type PipelineOptions,
  type PipelineSecureJsonData,
  type SecretKey,
  type ThresholdKey,
  type Thresholds,
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

/** Checks the ratios are within 0..1 and each warning is below its critical. */
export function thresholdProblems(t: Thresholds | undefined): string[] {
  if (!t) {
    return [];
  }
  const problems: string[] = [];
  for (const f of THRESHOLD_FIELDS) {
    const v = t[f.key];
    if (v !== undefined && f.unit === 'ratio 0..1' && v > 1) {
      problems.push(`${f.label} is a ratio between 0 and 1, got ${v}`);
    }
  }
  const pairs: Array<[ThresholdKey, ThresholdKey]> = [
    ['lagWarning', 'lagCritical'],
    ['timeLagWarningSeconds', 'timeLagCriticalSeconds'],
    ['backpressureWarning', 'backpressureCritical'],
    ['watermarkLagWarningSeconds', 'watermarkLagCriticalSeconds'],
    ['heapWarning', 'heapCritical'],
    ['cpuWarning', 'cpuCritical'],
  ];
  for (const [w, c] of pairs) {
    const wv = t[w];
    const cv = t[c];
    if (wv !== undefined && cv !== undefined && wv > cv) {
      problems.push(`${w} (${wv}) is above ${c} (${cv})`);
    }
  }
  return problems;
}

/** The pipeline description: parsed JSON object, or the reason it is not one. */
export function parsePipeline(text: string): { value?: unknown; error?: string } {
  if (text.trim() === '') {
    return {};
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { error: 'The pipeline description must be a JSON object' };
    }
    return { value };
  } catch (e) {
    return { error: `Invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}
