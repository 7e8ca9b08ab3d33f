-- A folder's saved resolutions: one blob (encoded by the analysis crate) and the key of
-- the records it was computed from. A start whose records have another key ignores it.
CREATE TABLE IF NOT EXISTS resolved (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    key  INTEGER NOT NULL,
    data BLOB NOT NULL
);
