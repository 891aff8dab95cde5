import {
  type CoreApp,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY, RESOURCE_PATHS, interpolateQuery, isRunnable, variableValues } from './queries';
import type { PipelineOptions, PipelineQuery, VariableQuery } from './types';

/** What the editors need from the datasource: a GET on the backend's resource endpoints. */
export interface ResourceSource {
  getResource(path: string): Promise<unknown>;
}

export class DataSource extends DataSourceWithBackend<PipelineQuery, PipelineOptions> implements ResourceSource {
  constructor(settings: DataSourceInstanceSettings<PipelineOptions>) {
    super(settings);
  }

  getDefaultQuery(_app: CoreApp): Partial<PipelineQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(query: PipelineQuery): boolean {
    return isRunnable(query);
  }

  applyTemplateVariables(query: PipelineQuery, scopedVars: ScopedVars): PipelineQuery {
    const srv = getTemplateSrv();
    return interpolateQuery(query, (t, vars, format) => srv.replace(t, vars, format), scopedVars);
  }

  /** Template variables: topics, groups or jobs straight from the resource endpoints. */
  async metricFindQuery(query: VariableQuery): Promise<MetricFindValue[]> {
    const resource = query?.resource ?? 'topics';
    const body = await this.getResource(RESOURCE_PATHS[resource]);
    return variableValues(resource, body);
  }
}
