-- One data key per person and municipality, stored wrapped under the master key. Erasing a person
-- deletes the wrapped key and keeps the row as a tombstone (erased_at set), so the key is never
-- created again and every ciphertext sealed under it stays unreadable for good.
CREATE TABLE person_keys (
    municipality  TEXT NOT NULL,
    subject       TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    wrapped_key   BYTEA,
    created_at    TIMESTAMPTZ NOT NULL,
    erased_at     TIMESTAMPTZ,
    PRIMARY KEY (municipality, subject),
    -- a live key has its bytes, a tombstone has none: never both, never neither
    CONSTRAINT person_keys_live_or_erased CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);
