-- Executions and verifications, newest last: what ran (the edit's hash and diff), what
-- came of it, and what it cost. `detail` is the whole answer as JSON. Unlike the files
-- and resolutions, runs survive a change of extractor: they are history.
CREATE TABLE IF NOT EXISTS runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms             INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    edit_hash         TEXT,
    diff              TEXT,
    wall_ms           INTEGER NOT NULL,
    cpu_ms            INTEGER NOT NULL,
    peak_memory_bytes INTEGER NOT NULL,
    passed            INTEGER NOT NULL,
    failed            INTEGER NOT NULL,
    detail            TEXT NOT NULL
);

-- What a run touched: symbols by qualified name (with the bare name, for lookups by
-- name) and files by path relative to the folder.
CREATE TABLE IF NOT EXISTS run_subjects (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind   TEXT NOT NULL CHECK (kind IN ('symbol', 'file')),
    name   TEXT NOT NULL,
    short  TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS run_subjects_name ON run_subjects (kind, name, run_id);
CREATE INDEX IF NOT EXISTS run_subjects_short ON run_subjects (kind, short, run_id);
