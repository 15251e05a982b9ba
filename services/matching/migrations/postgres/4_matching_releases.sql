-- Releases owed (projection `matching.releases` records them from follow-up's log; the
-- service's review worker carries them out): follow-up ended the engagement of a confirmation
-- (completed or dropped out), so matching ends that confirmed match and frees its seat. One row
-- per `EngagementEnded` (`position` in follow-up's log), kept once done so a rebuild owes
-- nothing again; not part of the projection's tables for the same reason.
CREATE TABLE matching_releases (
    municipality  TEXT NOT NULL,
    position      BIGINT NOT NULL,
    match_id      TEXT NOT NULL,
    -- The version of the match's stream the followed confirmation was written at.
    match_version BIGINT NOT NULL,
    done          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (municipality, position)
);
CREATE INDEX matching_releases_pending ON matching_releases (done, municipality, position);
