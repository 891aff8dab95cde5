// A text box for an optional non-negative number: keeps what the user typed, reports only valid
// numbers (or `undefined` when emptied) and marks anything else invalid.
import { Input } from '@grafana/ui';
import React, { useEffect, useState } from 'react';

import { parseNumberInput } from './secrets';

interface Props {
  id: string;
  value?: number;
  placeholder?: string;
  width?: number;
  /** Marks the box invalid for a number that parses but is out of range (the caller says why). */
  invalid?: boolean;
  onValue: (value?: number) => void;
  onBlur?: () => void;
}

const asText = (value?: number) => (value === undefined ? '' : String(value));

export function NumberInput({ id, value, placeholder, width = 16, invalid, onValue, onBlur }: Props) {
  const [text, setText] = useState(asText(value));
  const parsed = parseNumberInput(text);
  // A value changed from outside (another editor, a reset) replaces what was typed.
  useEffect(() => {
    const typed = parseNumberInput(text);
    if (!typed.error && typed.value !== value) {
      setText(asText(value));
    }
    // Only outside changes matter here: typing is handled in onChange.
  }, [value]);
  return (
    <Input
      id={id}
      width={width}
      value={text}
      placeholder={placeholder}
      invalid={invalid || Boolean(parsed.error)}
      title={parsed.error}
      onBlur={onBlur}
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
