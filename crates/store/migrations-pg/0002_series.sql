-- Time series of performance, per project (as in the embedded store).
CREATE TABLE IF NOT EXISTS series (
    id          BIGSERIAL PRIMARY KEY,
    project     BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    at_ms       BIGINT NOT NULL,
    measurement TEXT NOT NULL,
    tags        JSONB NOT NULL,
    fields      JSONB NOT NULL
);

CREATE INDEX IF NOT EXISTS series_tags ON series USING GIN (tags);
CREATE INDEX IF NOT EXISTS series_project ON series (project, measurement, at_ms);
