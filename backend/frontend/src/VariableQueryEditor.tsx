// Template variable query: which list the variable's values come from (see metricFindQuery).
import { InlineField, InlineFieldRow, RadioButtonGroup, Text } from '@grafana/ui';
import React, { useEffect } from 'react';

import type { VariableQuery, VariableResource } from './types';

interface Props {
  /** A new variable starts with no query (Grafana passes an empty string or object). */
  query?: Partial<VariableQuery> | string;
  onChange: (query: VariableQuery, definition: string) => void;
}

const RESOURCES: Array<{ value: VariableResource; label: string; description: string }> = [
  { value: 'topics', label: 'Kafka topics', description: 'Every topic of the cluster.' },
  { value: 'groups', label: 'Consumer groups', description: 'The consumer groups Kafka lists.' },
  {
    value: 'jobs',
    label: 'Flink jobs',
    description: 'Every Flink job: the job name is shown, its id is the value (use it in the Job field).',
  },
];

const DEFAULT_RESOURCE: VariableResource = 'topics';

const resourceInfo = (resource: VariableResource) => RESOURCES.find((r) => r.value === resource)!;

const definition = (resource: VariableResource) => `Pipeline Health: ${resourceInfo(resource).label}`;

export function VariableQueryEditor({ query, onChange }: Props) {
  const saved = typeof query === 'object' ? query?.resource : undefined;
  const resource = RESOURCES.some((r) => r.value === saved) ? saved! : DEFAULT_RESOURCE;
  const change = (next: VariableResource) => onChange({ resource: next }, definition(next));

  // A new variable saves the list it shows, so what is shown is what runs.
  useEffect(() => {
    if (saved !== resource) {
      change(resource);
    }
    // Once per variable: later changes come from the user.
  }, []);

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Values of" labelWidth={16} htmlFor="variable-resource">
          <RadioButtonGroup<VariableResource>
            id="variable-resource"
            options={RESOURCES.map(({ value, label }) => ({ value, label }))}
            value={resource}
            onChange={change}
          />
        </InlineField>
      </InlineFieldRow>
      <Text element="p" color="secondary">
        {resourceInfo(resource).description}
      </Text>
    </>
  );
}
