-- What git says about the code, for the per-symbol change log: the commits read (by
-- full hex id), the definitions each changed (by key: the names of its containers and
-- its own, `Cart.total`; paths relative to the workspace folder as they were at that
-- commit), and the files each renamed. Read incrementally: a commit is read once.
-- Like runs and memories, this is history, kept across extractor versions.
CREATE TABLE IF NOT EXISTS git_commits (
    id      TEXT PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    author  TEXT NOT NULL,
    email   TEXT NOT NULL,
    message TEXT NOT NULL,
    parents TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS symbol_changes (
    commit_id TEXT NOT NULL REFERENCES git_commits (id) ON DELETE CASCADE,
    path      TEXT NOT NULL,
    key       TEXT NOT NULL,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    how       TEXT NOT NULL,
    added     INTEGER NOT NULL,
    removed   INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS symbol_changes_name ON symbol_changes (name, path);

CREATE TABLE IF NOT EXISTS file_renames (
    commit_id TEXT NOT NULL REFERENCES git_commits (id) ON DELETE CASCADE,
    old_path  TEXT NOT NULL,
    new_path  TEXT NOT NULL
);
