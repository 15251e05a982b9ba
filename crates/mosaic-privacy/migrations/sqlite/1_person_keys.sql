-- One data key per person and municipality (see the PostgreSQL migration for the reasoning).
CREATE TABLE person_keys (
    municipality  TEXT NOT NULL,
    subject       TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    wrapped_key   BLOB,
    created_at    TEXT NOT NULL,
    erased_at     TEXT,
    PRIMARY KEY (municipality, subject),
    CONSTRAINT person_keys_live_or_erased CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);
