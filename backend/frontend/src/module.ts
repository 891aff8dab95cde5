// Placeholder entry until the editors land; replaced by the editors work.
import { DataSourcePlugin, DataSourceInstanceSettings, DataQuery, DataSourceJsonData } from '@grafana/data';
import { DataSourceWithBackend } from '@grafana/runtime';

export class DataSource extends DataSourceWithBackend<DataQuery, DataSourceJsonData> {
  constructor(settings: DataSourceInstanceSettings<DataSourceJsonData>) {
    super(settings);
  }
}

export const plugin = new DataSourcePlugin(DataSource);
