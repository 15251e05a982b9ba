-- The event log of one service. `position` is gapless and in commit order: every append takes
-- the single `log_head` row lock, so a reader that sees position p has already seen all below p.
CREATE TABLE events (
    position        BIGINT PRIMARY KEY,
    event_id        UUID NOT NULL UNIQUE,
    municipality    TEXT NOT NULL,
    context         TEXT NOT NULL,
    stream_id       TEXT NOT NULL,
    version         BIGINT NOT NULL,
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    actor           TEXT NOT NULL,
    correlation_id  UUID NOT NULL,
    causation_id    UUID,
    idempotency_key TEXT,
    trace_context   TEXT,
    payload         JSONB NOT NULL,
    -- Optimistic concurrency is this constraint: two writers of the same version cannot both commit.
    CONSTRAINT events_stream_version UNIQUE (stream_id, version)
);
CREATE INDEX events_municipality_position ON events (municipality, position);
CREATE INDEX events_occurred_at ON events (occurred_at);

CREATE TABLE log_head (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
INSERT INTO log_head (id, position) VALUES (1, 0);

-- Transactional outbox: written with the events, published by the relay in position order.
CREATE TABLE outbox (
    position     BIGINT PRIMARY KEY,
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (position) WHERE published_at IS NULL;

-- First result of every command that carried an idempotency key (request_id).
CREATE TABLE idempotency (
    municipality   TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    first_position BIGINT,
    last_position  BIGINT,
    version        BIGINT,
    response       JSONB,
    recorded_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (municipality, key)
);
