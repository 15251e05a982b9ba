-- Only `as_of` reads filter on occurred_at, and they read in position order anyway (the primary
-- key, with occurred_at as a filter); maintaining this index cost every append an index insert.
DROP INDEX events_occurred_at;
