// A text box for an optional non-negative number: keeps what the user typed, reports only valid
// numbers (or `undefined` when emptied) and marks anything else invalid.
import { Input } from '@grafana/ui';
import React, { useState } from 'react';

import { parseNumberInput } from './secrets';

interface Props {
  id: string;
  value?: number;
  placeholder?: string;
  width?: number;
  onValue: (value?: number) => void;
}

export function NumberInput({ id, value, placeholder, width = 16, onValue }: Props) {
  const [text, setText] = useState(value === undefined ? '' : String(value));
  const parsed = parseNumberInput(text);
  return (
    <Input
      id={id}
      width={width}
      value={text}
      placeholder={placeholder}
      invalid={Boolean(parsed.error)}
      title={parsed.error}
      onChange={(e) => {
        const t = e.currentTarget.value;
        setText(t);
        const p = parseNumberInput(t);
        if (!p.error) {
          onValue(p.value);
        }
      }}
    />
  );
}
