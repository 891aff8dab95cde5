-- The Marketing ROAS job `roas-attribution`: ad impressions, clicks and conversions (Kafka, JSON)
-- -> each click attributed the revenue of the conversion that follows it within 5 s (interval
-- join) -> spend, revenue and ROAS (= revenue / spend) per campaign in 10 s event-time windows
-- -> PostgreSQL roas_by_campaign (upsert on campaign_id + window_start).
--
-- One file for the demo and the test bed. The demo runs it as is (`sql-client.sh -f`, hosts
-- kafka:9092, postgres:5432, flink-jobmanager:8081). The bed submits it with
-- tests/bed/flink/pipelinehealth/bed/SubmitSql.java, which swaps exactly the addresses
-- `kafka:9092` and `postgres:5432` for its own and overrides rest.* and the checkpoint settings.
-- Job graph: three Kafka sources -> IntervalJoin (+ throttle) -> window aggregate -> JDBC sink.
-- The generator is provisioning/demo/roas-generator.py; the UDF jar (pipelinehealth.roas.Throttle)
-- is built by tests/bed/build-java.sh.
SET 'execution.target' = 'remote';
SET 'rest.address' = 'flink-jobmanager';
SET 'rest.port' = '8081';
SET 'execution.runtime-mode' = 'streaming';
SET 'pipeline.name' = 'roas-attribution';
-- Offsets are committed to Kafka on each completed checkpoint (group roas-attribution).
SET 'execution.checkpointing.interval' = '10s';
SET 'execution.checkpointing.timeout' = '60s';
-- Barriers overtake records held up by backpressure, so a slow operator still checkpoints and
-- commits its offsets (a slow job reads as slow, not as stopped).
SET 'execution.checkpointing.unaligned.enabled' = 'true';
-- A stuck sink shows as failing checkpoints, not as a restart loop.
SET 'execution.checkpointing.tolerable-failed-checkpoints' = '1000000';
SET 'parallelism.default' = '2';
-- Each window's row is emitted once (insert-only), so the JDBC upsert needs no materializer.
SET 'table.exec.sink.upsert-materialize' = 'NONE';

-- Sleeps per record when ROAS_THROTTLE_FILE names a file holding microseconds; a no-op otherwise.
CREATE TEMPORARY SYSTEM FUNCTION throttle AS 'pipelinehealth.roas.Throttle' LANGUAGE JAVA;

CREATE TABLE impressions (
  impression_id STRING,
  campaign_id STRING,
  cost DOUBLE,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'impressions',
  'properties.bootstrap.servers' = 'kafka:9092',
  'properties.group.id' = 'roas-attribution',
  'properties.client.id.prefix' = 'roas-impressions',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'scan.watermark.idle-timeout' = '5s',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE clicks (
  click_id STRING,
  impression_id STRING,
  campaign_id STRING,
  cost DOUBLE,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'clicks',
  'properties.bootstrap.servers' = 'kafka:9092',
  'properties.group.id' = 'roas-attribution',
  'properties.client.id.prefix' = 'roas-clicks',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'scan.watermark.idle-timeout' = '5s',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE conversions (
  conversion_id STRING,
  click_id STRING,
  campaign_id STRING,
  revenue DOUBLE,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'conversions',
  'properties.bootstrap.servers' = 'kafka:9092',
  'properties.group.id' = 'roas-attribution',
  'properties.client.id.prefix' = 'roas-conversions',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'scan.watermark.idle-timeout' = '5s',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE roas_sink (
  campaign_id STRING,
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  spend DOUBLE,
  revenue DOUBLE,
  roas DOUBLE,
  impressions BIGINT,
  clicks BIGINT,
  conversions BIGINT,
  PRIMARY KEY (campaign_id, window_start) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = 'jdbc:postgresql://postgres:5432/pipeline',
  'table-name' = 'roas_by_campaign',
  'username' = 'demo',
  'password' = 'demo',
  'sink.buffer-flush.interval' = '1s',
  'sink.buffer-flush.max-rows' = '100'
);

-- Last-click attribution: every click, with the revenue of its conversion (0 when none came
-- within 5 s). Every click passes the join, so throttle() here slows the whole attribution step.
CREATE TEMPORARY VIEW attributed_clicks AS
SELECT
  throttle(c.campaign_id) AS campaign_id,
  c.ts,
  c.cost,
  COALESCE(v.revenue, 0.0) AS revenue,
  IF(v.conversion_id IS NULL, 0, 1) AS converted
FROM clicks AS c
LEFT JOIN conversions AS v
  ON v.click_id = c.click_id
  AND v.ts BETWEEN c.ts AND c.ts + INTERVAL '5' SECOND;

CREATE TEMPORARY VIEW spend_and_revenue AS
SELECT campaign_id, ts, cost AS spend, 0.0 AS revenue, 1 AS impressions, 0 AS clicks, 0 AS conversions
FROM impressions
UNION ALL
SELECT campaign_id, ts, cost AS spend, revenue, 0 AS impressions, 1 AS clicks, converted AS conversions
FROM attributed_clicks;

INSERT INTO roas_sink
SELECT
  campaign_id,
  window_start,
  window_end,
  SUM(spend) AS spend,
  SUM(revenue) AS revenue,
  SUM(revenue) / NULLIF(SUM(spend), 0) AS roas,
  CAST(SUM(impressions) AS BIGINT) AS impressions,
  CAST(SUM(clicks) AS BIGINT) AS clicks,
  CAST(SUM(conversions) AS BIGINT) AS conversions
FROM TABLE(TUMBLE(TABLE spend_and_revenue, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY campaign_id, window_start, window_end;
