// Placeholder entry until the panel lands; replaced by the panel work.
import { PanelPlugin } from '@grafana/data';

const TopologyPanel = () => null;

export const plugin = new PanelPlugin(TopologyPanel);
