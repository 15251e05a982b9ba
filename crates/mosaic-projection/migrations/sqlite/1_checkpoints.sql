-- How far each projection has applied each source: a store's log position (embedded) or the
-- MOSAIC stream sequence (distributed). Written in the same transaction as the projection's
-- effect, so a redelivered event is recognised and changes nothing.
CREATE TABLE projection_checkpoints (
    projection TEXT NOT NULL,
    source     TEXT NOT NULL,
    position   BIGINT NOT NULL,
    -- Set while a rebuild is under way ('*' for all municipalities, else the code), so a rebuild
    -- cut short by a crash is resumed at start instead of leaving a half-built read model.
    rebuilding TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (projection, source)
);
