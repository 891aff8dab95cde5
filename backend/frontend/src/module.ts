// Entry of the datasource's front end: the backend answers queries; these are its editors.
import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
import { DataSource } from './datasource';
import { QueryEditor } from './QueryEditor';
import type { PipelineOptions, PipelineQuery, PipelineSecureJsonData } from './types';
import { VariableQueryEditor } from './VariableQueryEditor';

export { DataSource };

export const plugin = new DataSourcePlugin<DataSource, PipelineQuery, PipelineOptions, PipelineSecureJsonData>(
  DataSource
)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor)
  .setVariableQueryEditor(VariableQueryEditor);
