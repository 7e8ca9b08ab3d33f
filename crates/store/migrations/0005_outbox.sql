-- Writes waiting for a shared backend (PostgreSQL): each names what changed here (the
-- files' paths, a run's id, points' ids), in order; the rows themselves are read when
-- the write is replayed. A row is deleted once the backend has committed it.
CREATE TABLE IF NOT EXISTS outbox (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    op      TEXT NOT NULL,
    payload TEXT NOT NULL
);
