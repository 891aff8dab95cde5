-- The demo's sink table, created by the postgres image on first start.
CREATE TABLE IF NOT EXISTS page_views (
  page TEXT NOT NULL,
  window_start TIMESTAMP(3) NOT NULL,
  window_end TIMESTAMP(3) NOT NULL,
  views BIGINT NOT NULL,
  PRIMARY KEY (page, window_start)
);
