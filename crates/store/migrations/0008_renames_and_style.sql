-- Definitions a commit renamed within a file (`LazyFile` to `_LazyFile`, and with it
-- `LazyFile.open` to `_LazyFile.open`): the change log follows a definition back through
-- them as it follows a file through `file_renames`. Only the renamed definition has a
-- row; its members' keys follow their container's.
CREATE TABLE IF NOT EXISTS symbol_renames (
    commit_id TEXT NOT NULL REFERENCES git_commits (id) ON DELETE CASCADE,
    path      TEXT NOT NULL,
    old_key   TEXT NOT NULL,
    new_key   TEXT NOT NULL
);

-- How the lines each commit added are written, per language (JSON counts, see
-- `codecontext_memory::style`): summed per author, their coding style.
ALTER TABLE git_commits ADD COLUMN style TEXT NOT NULL DEFAULT '{}';
