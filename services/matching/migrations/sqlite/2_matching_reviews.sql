-- Seat reviews owed (projection `matching.activity` records them; the service's review worker
-- carries them out): after activity removed a piece, cancelled its activity or revised a piece,
-- matching ends the confirmations the piece can no longer hold. One row per activity
-- event (`position` in activity's log), kept once done so a rebuild of the read model does not
-- owe them again; not part of the projection's tables for the same reason.
CREATE TABLE matching_reviews (
    municipality TEXT NOT NULL,
    position     BIGINT NOT NULL,
    piece_id     TEXT NOT NULL,
    -- `piece_removed`, `activity_cancelled` or `piece_revised`.
    cause        TEXT NOT NULL,
    done         BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (municipality, position, piece_id)
);
CREATE INDEX matching_reviews_pending ON matching_reviews (done, municipality, position);
