-- The project's memory (decisions, preferences, feedback), shared by the team: one row
-- per memory under its stable uid, its body as the embedded store keeps it.
CREATE TABLE IF NOT EXISTS memories (
    project BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    uid     TEXT NOT NULL,
    kind    TEXT NOT NULL,
    made_ms BIGINT NOT NULL,
    body    JSONB NOT NULL,
    PRIMARY KEY (project, uid)
);
