-- Time series of performance (index timings, verifications, per-test durations): the
-- embedded counterpart of InfluxDB's measurements, with the tags indexed for lookups.
CREATE TABLE IF NOT EXISTS series (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms       INTEGER NOT NULL,
    measurement TEXT NOT NULL,
    tags        TEXT NOT NULL,
    fields      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS series_tags (
    point_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS series_tags_lookup ON series_tags (key, value, point_id);
