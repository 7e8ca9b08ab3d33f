-- One row per indexed file of a workspace folder: what it was on disk when it was
-- extracted (size, mtime, content hash) and the extraction itself, encoded by the
-- analysis crate. `meta` holds the fingerprint of the extractor that wrote the rows.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS files (
    rel      TEXT PRIMARY KEY NOT NULL,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash     INTEGER NOT NULL,
    data     BLOB NOT NULL
);
