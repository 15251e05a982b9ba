-- What the relay has published is always a prefix of the log: it publishes in position order,
-- and appends become visible in that order (each takes the head row first and holds it until it
-- commits). One position records it, instead of an outbox row per append that was inserted,
-- updated once published and purged a day later.
CREATE TABLE log_published (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
INSERT INTO log_published (id, position)
SELECT 1, COALESCE(
    (SELECT MIN(first_position) - 1 FROM commit_outbox WHERE published_at IS NULL),
    (SELECT position FROM log_head WHERE id = 1));
DROP TABLE commit_outbox;
