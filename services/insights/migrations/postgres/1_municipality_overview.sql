-- One row per municipality, rebuilt from registry events. Keyed by municipality, so a
-- per-municipality rebuild deletes and rewrites only its own row.
CREATE TABLE insights_municipality_overview (
    municipality   TEXT PRIMARY KEY,
    name           TEXT,
    prefecture     TEXT,
    registered_at  TIMESTAMPTZ,
    events_applied BIGINT NOT NULL DEFAULT 0
);
