-- The demo's sink table, created by the postgres image on first start (and by the test bed's
-- own PostgreSQL, tests/src/bed/postgres.rs, from this same file).

-- provisioning/demo/roas.sql: spend, revenue and ROAS per campaign and 10 s window, upserted.
CREATE TABLE IF NOT EXISTS roas_by_campaign (
  campaign_id TEXT NOT NULL,
  window_start TIMESTAMP(3) NOT NULL,
  window_end TIMESTAMP(3) NOT NULL,
  spend DOUBLE PRECISION NOT NULL,
  revenue DOUBLE PRECISION NOT NULL,
  roas DOUBLE PRECISION, -- NULL while a window has no spend
  impressions BIGINT NOT NULL,
  clicks BIGINT NOT NULL,
  conversions BIGINT NOT NULL,
  -- When the sink last wrote the row (insert or upsert): the sink's heartbeat, set here because
  -- the job's upsert names only its own columns.
  written_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (campaign_id, window_start)
);

CREATE OR REPLACE FUNCTION roas_by_campaign_written() RETURNS trigger AS $$
BEGIN
  NEW.written_at := clock_timestamp();
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER roas_by_campaign_written
  BEFORE INSERT OR UPDATE ON roas_by_campaign
  FOR EACH ROW EXECUTE FUNCTION roas_by_campaign_written();
