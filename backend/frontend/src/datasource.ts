import {
  type CoreApp,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { LIVE_STREAM_OPTIONS } from './live';
import {
  DEFAULT_QUERY,
  RESOURCE_PATHS,
  interpolateQuery,
  isRunnable,
  variableValues,
  type QueryDefaults,
} from './queries';
import type { PipelineOptions, PipelineQuery, VariableQuery } from './types';

/** What the editors need from the datasource: a GET on the backend's resource endpoints. */
export interface ResourceSource {
  getResource(path: string): Promise<unknown>;
}

/** What the query editor needs: resources, and the settings its queries fall back to. */
export interface EditorSource extends ResourceSource {
  readonly queryDefaults?: QueryDefaults;
}

export class DataSource extends DataSourceWithBackend<PipelineQuery, PipelineOptions> implements EditorSource {
  readonly queryDefaults: QueryDefaults;

  constructor(settings: DataSourceInstanceSettings<PipelineOptions>) {
    super(settings);
    const { kafkaConsumerGroups, thresholds } = settings.jsonData ?? {};
    this.queryDefaults = { kafkaConsumerGroups, thresholds };
  }

  /** A live query's frames name their Grafana Live channel; DataSourceWithBackend subscribes. */
  streamOptionsProvider = () => LIVE_STREAM_OPTIONS;

  getDefaultQuery(_app: CoreApp): Partial<PipelineQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(query: PipelineQuery): boolean {
    return isRunnable(query, this.queryDefaults);
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
