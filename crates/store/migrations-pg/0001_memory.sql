-- The shared memory of a team: every row belongs to a project, identified by its
-- repository's remote URL or, failing that, its root path, so that several servers of
-- several developers can share one database.
CREATE TABLE IF NOT EXISTS projects (
    id          BIGSERIAL PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    -- The extractor that wrote the project's files; another one starts them afresh.
    fingerprint TEXT NOT NULL DEFAULT ''
);

-- One row per indexed file (as in the embedded store): what it was on disk when it was
-- extracted and the extraction, encoded by the analysis crate.
CREATE TABLE IF NOT EXISTS files (
    project  BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    rel      TEXT NOT NULL,
    size     BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    hash     BIGINT NOT NULL,
    data     BYTEA NOT NULL,
    PRIMARY KEY (project, rel)
);

-- A project's saved resolutions and the key of the records they were computed from.
CREATE TABLE IF NOT EXISTS resolved (
    project BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    key     BIGINT NOT NULL,
    data    BYTEA NOT NULL
);

-- Executions and verifications, and what each touched.
CREATE TABLE IF NOT EXISTS runs (
    id                BIGSERIAL PRIMARY KEY,
    project           BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    at_ms             BIGINT NOT NULL,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    edit_hash         TEXT,
    diff              TEXT,
    wall_ms           BIGINT NOT NULL,
    cpu_ms            BIGINT NOT NULL,
    peak_memory_bytes BIGINT NOT NULL,
    passed            INTEGER NOT NULL,
    failed            INTEGER NOT NULL,
    detail            JSONB NOT NULL
);

CREATE TABLE IF NOT EXISTS run_subjects (
    run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind   TEXT NOT NULL CHECK (kind IN ('symbol', 'file')),
    name   TEXT NOT NULL,
    short  TEXT NOT NULL,
    ord    INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS run_subjects_name ON run_subjects (kind, name, run_id);
CREATE INDEX IF NOT EXISTS run_subjects_short ON run_subjects (kind, short, run_id);
CREATE INDEX IF NOT EXISTS runs_project ON runs (project, id);
