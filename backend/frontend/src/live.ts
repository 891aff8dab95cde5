// How Grafana keeps the frame of a live query (backend/src/live.rs) between pushes.
import { StreamingFrameAction, type StreamingFrameOptions } from '@grafana/data';

/** Rows a pushed frame may hold: far above the nodes of the largest pipeline drawn. */
export const LIVE_MAX_ROWS = 100_000;

/**
 * Each push is the whole answer again, so it replaces the frame; Grafana's default appends
 * the rows, as for a time series, and would draw every node once per push.
 */
export const LIVE_STREAM_OPTIONS: Partial<StreamingFrameOptions> = {
  action: StreamingFrameAction.Replace,
  maxLength: LIVE_MAX_ROWS,
};
