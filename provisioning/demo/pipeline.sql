-- The demo's Flink job, submitted by the flink-sql-job service with `sql-client.sh -f`:
-- clicks (Kafka, JSON, event time with watermarks) -> 10 s tumbling page counts -> PostgreSQL.
-- A SQL script instead of a job jar: the official flink image runs it as is, and the connector
-- jars come from Maven Central (provisioning/demo/fetch-jars.sh).
SET 'execution.target' = 'remote';
SET 'rest.address' = 'flink-jobmanager';
SET 'rest.port' = '8081';
SET 'execution.runtime-mode' = 'streaming';
SET 'pipeline.name' = 'clicks-to-postgres';
-- Offsets are committed to Kafka on each checkpoint, so kafka-exporter sees the group's lag.
SET 'execution.checkpointing.interval' = '10s';

CREATE TABLE clicks (
  user_id STRING,
  page STRING,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'clicks',
  'properties.bootstrap.servers' = 'kafka:9092',
  'properties.group.id' = 'clicks-to-postgres',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  -- Partitions without traffic must not hold the watermark back.
  'scan.watermark.idle-timeout' = '30s',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE page_views (
  page STRING,
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  views BIGINT,
  PRIMARY KEY (page, window_start) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = 'jdbc:postgresql://postgres:5432/pipeline',
  'table-name' = 'page_views',
  'username' = 'demo',
  'password' = 'demo'
);

INSERT INTO page_views
SELECT page, window_start, window_end, COUNT(*) AS views
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY page, window_start, window_end;
