// Threshold fields, used for the datasource defaults and for per-query overrides.
import { Alert, InlineField, InlineFieldRow } from '@grafana/ui';
import React from 'react';

import { NumberInput } from './NumberInput';
import { thresholdProblems, withThreshold } from './secrets';
import { DEFAULT_THRESHOLDS, THRESHOLD_FIELDS, type Thresholds } from './types';

interface Props {
  idPrefix: string;
  value?: Thresholds;
  /** What applies when a field is left empty: shown as its placeholder and used by the checks. */
  fallback?: Thresholds;
  onChange: (value?: Thresholds) => void;
  onBlur?: () => void;
}

export function ThresholdsEditor({ idPrefix, value, fallback = DEFAULT_THRESHOLDS, onChange, onBlur }: Props) {
  const problems = thresholdProblems(value, fallback);
  return (
    <>
      <InlineFieldRow>
        {THRESHOLD_FIELDS.map((f) => (
          <InlineField key={f.key} label={f.label} labelWidth={24} tooltip={f.unit} htmlFor={`${idPrefix}-${f.key}`}>
            <NumberInput
              id={`${idPrefix}-${f.key}`}
              value={value?.[f.key]}
              placeholder={String(fallback[f.key] ?? DEFAULT_THRESHOLDS[f.key])}
              onValue={(v) => onChange(withThreshold(value, f.key, v))}
              onBlur={onBlur}
            />
          </InlineField>
        ))}
      </InlineFieldRow>
      {problems.length > 0 && (
        <Alert severity="warning" title="Check the thresholds">
          {problems.join('; ')}
        </Alert>
      )}
    </>
  );
}
