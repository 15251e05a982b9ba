-- The event log of one service (see the PostgreSQL migration for the reasoning). SQLite writers
-- are serialised by BEGIN IMMEDIATE, so positions are gapless and in commit order here too.
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    event_id        BLOB NOT NULL UNIQUE,
    municipality    TEXT NOT NULL,
    context         TEXT NOT NULL,
    stream_id       TEXT NOT NULL,
    version         INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    occurred_at     TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    actor           TEXT NOT NULL,
    correlation_id  BLOB NOT NULL,
    causation_id    BLOB,
    idempotency_key TEXT,
    trace_context   TEXT,
    payload         TEXT NOT NULL,
    CONSTRAINT events_stream_version UNIQUE (stream_id, version)
);
CREATE INDEX events_municipality_position ON events (municipality, position);
CREATE INDEX events_occurred_at ON events (occurred_at);

CREATE TABLE log_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT INTO log_head (id, position) VALUES (1, 0);

CREATE TABLE outbox (
    position     INTEGER PRIMARY KEY,
    published_at TEXT
);
CREATE INDEX outbox_pending ON outbox (position) WHERE published_at IS NULL;

CREATE TABLE idempotency (
    municipality   TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    first_position INTEGER,
    last_position  INTEGER,
    version        INTEGER,
    response       TEXT,
    recorded_at    TEXT NOT NULL,
    PRIMARY KEY (municipality, key)
);
