-- How far each client's queued writes have been applied: a replayed write at or below
-- its client's mark is skipped, so that a write is never applied twice.
CREATE TABLE IF NOT EXISTS replay_marks (
    project BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    client  TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (project, client)
);
