-- The store never looks inside payloads, so `json` (the text as written) replaces `jsonb`: no
-- parsing into the binary form on every append, and no conversion back to text on every read.
ALTER TABLE events ALTER COLUMN payload TYPE json USING payload::json;
-- Only `as_of` reads filter on occurred_at, and they read in position order anyway (the primary
-- key, with occurred_at as a filter); maintaining this index cost every append an index insert.
DROP INDEX events_occurred_at;
