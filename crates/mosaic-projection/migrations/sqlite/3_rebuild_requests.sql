-- Rebuilds an operator asked for (`mosaic projections rebuild`): the runner that leads the
-- projection takes the oldest open request between batches, rebuilds, and records its progress
-- and outcome here, where the asking command reads them.
CREATE TABLE projection_rebuilds (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    projection   TEXT NOT NULL,
    -- NULL: every municipality.
    municipality TEXT,
    requested_at TEXT NOT NULL,
    started_at   TEXT,
    -- The source position the rebuild replays up to, and the last one it has replayed.
    up_to        BIGINT,
    reached      BIGINT,
    replayed     BIGINT NOT NULL DEFAULT 0,
    finished_at  TEXT,
    -- Why it failed; NULL when it succeeded or is under way.
    error        TEXT
);
CREATE INDEX projection_rebuilds_open ON projection_rebuilds (projection, id) WHERE started_at IS NULL;
