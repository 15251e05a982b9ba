-- The sources of the candidate index that recommendations rank.
--
-- `matching_residents` (projection `matching.residents`) gains the matchable part of each
-- resident's profile (JSON: skills, interests, availability, preferred forms, coarse location,
-- travel radius; wiped on erasure) and `changed`, the change number of its last write.
-- `matching_recent` (projection `matching.recent`, from this context's events): each resident's
-- commitments held, confirmed engagements and offers shown (JSON), stamped the same way.
-- `matching_candidate_changes`: the one counter both stamp from (part of no projection, so it
-- never goes back). `matching_activities` gains the field and place, `matching_pieces` the
-- required skills (JSON), which recommendations weigh.
ALTER TABLE matching_residents ADD COLUMN profile TEXT;
ALTER TABLE matching_residents ADD COLUMN changed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX matching_residents_changed ON matching_residents (changed);

CREATE TABLE matching_recent (
    municipality TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    recent       TEXT NOT NULL,
    changed      BIGINT NOT NULL,
    PRIMARY KEY (municipality, resident_id)
);
CREATE INDEX matching_recent_changed ON matching_recent (changed);

CREATE TABLE matching_candidate_changes (n BIGINT NOT NULL);
INSERT INTO matching_candidate_changes (n) VALUES (0);

ALTER TABLE matching_activities ADD COLUMN field TEXT;
ALTER TABLE matching_activities ADD COLUMN place TEXT;
ALTER TABLE matching_pieces ADD COLUMN skills TEXT;

-- Rows written before these columns existed lack them: both projections are rebuilt from the
-- log at the next start (a rebuild marked under way on a source's checkpoint is resumed first;
-- the `context:` rows only count how far each context's log was read).
UPDATE projection_checkpoints SET rebuilding = '*'
 WHERE projection IN ('matching.residents', 'matching.activity')
   AND source NOT LIKE 'context:%';
