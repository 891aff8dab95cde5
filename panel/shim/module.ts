// Registers the Pipeline Topology panel with Grafana. The drawing is Rust/WebAssembly
// (panel/src); this file only declares the options.
import { PanelPlugin, type SelectableValue } from '@grafana/data';

import { NODE_FIELDS } from './generated/contract';
import { type TopologyOptions } from './handoff';
import { TopologyPanel } from './TopologyPanel';

const choice = <T,>(path: keyof TopologyOptions, name: string, description: string, options: Array<SelectableValue<T>>) => ({
  path,
  name,
  description,
  defaultValue: options[0].value,
  settings: { options },
});

export const plugin = new PanelPlugin<TopologyOptions>(TopologyPanel)
  .useFieldConfig()
  .setPanelOptions((builder) =>
    builder
      .addRadio(
        choice('orientation', 'Orientation', 'Which way data flows on screen', [
          { value: 'LR', label: 'Left to right' },
          { value: 'TB', label: 'Top to bottom' },
        ])
      )
      .addRadio(
        choice('mainStat', 'Main stat', 'Which number is shown large on each node', [
          { value: NODE_FIELDS.MAINSTAT, label: 'Main stat' },
          { value: NODE_FIELDS.SECONDARYSTAT, label: 'Secondary stat' },
        ])
      )
      .addRadio(
        choice('flinkJobs', 'Flink jobs', 'One card per job, or every vertex of it (auto: whichever reads at this size)', [
          { value: 'auto', label: 'Auto' },
          { value: 'jobs', label: 'One card per job' },
          { value: 'vertices', label: 'Every vertex' },
        ])
      )
      .addBooleanSwitch({
        path: 'compact',
        name: 'Compact nodes',
        description: 'Smaller cards with the name and the main number only',
        defaultValue: false,
      })
      .addBooleanSwitch({
        path: 'showThresholds',
        name: 'Show thresholds',
        description: "Colour the main number by the field's thresholds and list them in the legend",
        defaultValue: false,
      })
      .addBooleanSwitch({
        path: 'showLegend',
        name: 'Legend',
        defaultValue: true,
      })
  );
