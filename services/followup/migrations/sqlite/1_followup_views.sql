-- Engagements to open, one per confirmation matching published (projection
-- `followup.confirmations` writes them; the service's opener appends each engagement and marks
-- it done). Kept once done, and not part of the projection's tables, so a confirmation
-- delivered again, or a rebuild, owes nothing new.
CREATE TABLE followup_openings (
    municipality TEXT NOT NULL,
    engagement_id TEXT NOT NULL,
    match_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    opened TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (municipality, engagement_id)
);
CREATE INDEX followup_openings_owed ON followup_openings (done, municipality, position);
CREATE INDEX followup_openings_match ON followup_openings (municipality, match_id, position);

-- Engagements to close, one per end of a match matching published (withdrawn, cancelled, ended
-- by matching): the opener ends the engagement of the match's confirmation before it, once that
-- engagement is open. Kept once done, as the openings are.
CREATE TABLE followup_closings (
    municipality TEXT NOT NULL,
    match_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    -- The JST date of the end.
    day TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (municipality, match_id, position)
);
CREATE INDEX followup_closings_owed ON followup_closings (done, municipality, position);

-- `followup.engagements`: one row per engagement, for lists by piece and by resident.
CREATE TABLE followup_engagements (
    municipality TEXT NOT NULL,
    engagement_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    resident_id TEXT NOT NULL,
    piece_id TEXT NOT NULL,
    host_organisation_id TEXT NOT NULL,
    ended TEXT,
    PRIMARY KEY (municipality, engagement_id)
);
CREATE INDEX followup_engagements_piece ON followup_engagements (municipality, piece_id, seq);
CREATE INDEX followup_engagements_resident ON followup_engagements (municipality, resident_id, seq);

-- `followup.residents`: the registry's keyed hash of a resident's login, so a resident's own
-- token finds their engagements.
CREATE TABLE followup_residents (
    municipality TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    login_index TEXT NOT NULL,
    PRIMARY KEY (municipality, resident_id)
);
CREATE INDEX followup_residents_login ON followup_residents (municipality, login_index);
