-- The knowledge graph as tables, per project: each file's entities and the edges that
-- start in it (calls, references, imports, inherits, implements), with how each edge
-- was resolved. A file's rows are replaced together when it changes.
CREATE TABLE IF NOT EXISTS entities (
    project   BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id        BIGINT NOT NULL,
    path      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    qualified TEXT NOT NULL,
    line      INTEGER NOT NULL,
    container BIGINT,
    PRIMARY KEY (project, id)
);

CREATE INDEX IF NOT EXISTS entities_path ON entities (project, path);

CREATE TABLE IF NOT EXISTS edges (
    project BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    src     BIGINT NOT NULL,
    dst     BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    how     TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS edges_path ON edges (project, path);
CREATE INDEX IF NOT EXISTS edges_dst ON edges (project, dst, kind);
CREATE INDEX IF NOT EXISTS edges_src ON edges (project, src, kind);
