-- One row per append (a commit) instead of one per event; see the PostgreSQL migration for the
-- reasoning. Positions and versions stay per event: a commit holds first..last of each.
CREATE TABLE commits (
    last_position   INTEGER PRIMARY KEY,
    first_position  INTEGER NOT NULL,
    municipality    TEXT NOT NULL,
    context         TEXT NOT NULL,
    stream_id       TEXT NOT NULL,
    first_version   INTEGER NOT NULL,
    last_version    INTEGER NOT NULL,
    recorded_at     TEXT NOT NULL,
    actor           TEXT NOT NULL,
    correlation_id  BLOB NOT NULL,
    causation_id    BLOB,
    idempotency_key TEXT,
    trace_context   TEXT,
    -- [{"event_id", "event_type", "schema_version", "occurred_at", "payload"}, …] in version order.
    events          TEXT NOT NULL,
    CHECK (last_position >= first_position),
    CHECK (last_version - first_version = last_position - first_position),
    CONSTRAINT commits_stream_version UNIQUE (stream_id, first_version)
);
CREATE INDEX commits_municipality_position ON commits (municipality, last_position);

-- Event ids were 16-byte blobs; in the JSON they are the usual text form.
INSERT INTO commits (last_position, first_position, municipality, context, stream_id,
    first_version, last_version, recorded_at, actor, correlation_id, causation_id,
    idempotency_key, trace_context, events)
SELECT position, position, municipality, context, stream_id, version, version, recorded_at, actor,
    correlation_id, causation_id, idempotency_key, trace_context,
    json_array(json_object(
        'event_id', lower(substr(hex(event_id), 1, 8) || '-' || substr(hex(event_id), 9, 4) || '-'
            || substr(hex(event_id), 13, 4) || '-' || substr(hex(event_id), 17, 4) || '-'
            || substr(hex(event_id), 21, 12)),
        'event_type', event_type, 'schema_version', schema_version,
        'occurred_at', occurred_at, 'payload', json(payload)))
FROM events;

CREATE TABLE commit_outbox (
    last_position  INTEGER PRIMARY KEY,
    first_position INTEGER NOT NULL,
    published_at   TEXT
);
CREATE INDEX commit_outbox_pending ON commit_outbox (last_position) WHERE published_at IS NULL;
INSERT INTO commit_outbox (last_position, first_position, published_at)
SELECT position, position, published_at FROM outbox;

DROP TABLE outbox;
DROP TABLE events;

-- The log one event per row, for reading with SQL (exports, audits); the store reads `commits`.
CREATE VIEW events AS
SELECT c.first_position + e.key AS position,
    json_extract(e.value, '$.event_id') AS event_id,
    c.municipality, c.context, c.stream_id,
    c.first_version + e.key AS version,
    json_extract(e.value, '$.event_type') AS event_type,
    json_extract(e.value, '$.schema_version') AS schema_version,
    json_extract(e.value, '$.occurred_at') AS occurred_at,
    c.recorded_at, c.actor, c.correlation_id, c.causation_id, c.idempotency_key,
    c.trace_context,
    json_extract(e.value, '$.payload') AS payload
FROM commits c, json_each(c.events) AS e;
