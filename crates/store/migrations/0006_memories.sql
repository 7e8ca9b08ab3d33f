-- The project's memory beside the index: decisions, preferences and feedback, each
-- under a stable uid (`adr:<path>` for a decision record, a hash for one remembered),
-- with its kind and when it was first recorded. `body` is the memory as JSON (its text,
-- source, anchors with their fingerprints, validity), owned by the workspace crate.
-- Like runs, memories survive a change of extractor: they are history.
CREATE TABLE IF NOT EXISTS memories (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    uid     TEXT NOT NULL UNIQUE,
    kind    TEXT NOT NULL,
    made_ms INTEGER NOT NULL,
    body    TEXT NOT NULL
);
