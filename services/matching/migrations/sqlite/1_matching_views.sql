-- Read models of the matching context.
--
-- From the registry's events: `matching_residents` (projection `matching.residents`), what
-- matching needs of each resident (no personal data: the login appears only as the registry's
-- keyed hash), and `matching_hosts` (projection `matching.hosts`), the host organisations' kind,
-- suspension and licences, as activity keeps them.
-- Projection `matching.activity` (activity's events): `matching_activities` and
-- `matching_pieces`, the pieces people are matched to.
-- Projection `matching.matches` (this context's events): `matching_matches`, one row per match
-- for lists; `seq` is the log position of the match's first event, the order lists answer in.
CREATE TABLE matching_residents (
    municipality       TEXT NOT NULL,
    resident_id        TEXT NOT NULL,
    login_index        TEXT,
    active             BOOLEAN NOT NULL,
    -- Erased for good: never active again.
    erased             BOOLEAN NOT NULL DEFAULT FALSE,
    guest              BOOLEAN NOT NULL,
    matching_consent   BOOLEAN NOT NULL,
    proxy_agreement    BOOLEAN NOT NULL,
    max_hours_per_week INTEGER,
    max_days_per_month INTEGER,
    PRIMARY KEY (municipality, resident_id)
);
CREATE INDEX matching_residents_login ON matching_residents (municipality, login_index);

CREATE TABLE matching_hosts (
    municipality    TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    suspended       BOOLEAN NOT NULL,
    -- ",worker_dispatch,paid_placement," style list of the registry's licence names.
    licences        TEXT NOT NULL,
    PRIMARY KEY (municipality, organisation_id)
);

CREATE TABLE matching_activities (
    municipality         TEXT NOT NULL,
    activity_id          TEXT NOT NULL,
    host_organisation_id TEXT NOT NULL,
    -- Stored names of activity's vocabularies.
    status               TEXT NOT NULL,
    engagement_form      TEXT NOT NULL,
    application_mode     TEXT NOT NULL,
    PRIMARY KEY (municipality, activity_id)
);

CREATE TABLE matching_pieces (
    municipality TEXT NOT NULL,
    piece_id     TEXT NOT NULL,
    activity_id  TEXT NOT NULL,
    removed      BOOLEAN NOT NULL,
    headcount    INTEGER NOT NULL,
    -- The schedule as stored in the event (JSON).
    schedule     TEXT NOT NULL,
    PRIMARY KEY (municipality, piece_id)
);

CREATE TABLE matching_matches (
    municipality         TEXT NOT NULL,
    match_id             TEXT NOT NULL,
    seq                  BIGINT NOT NULL,
    resident_id          TEXT NOT NULL,
    piece_id             TEXT NOT NULL,
    activity_id          TEXT NOT NULL,
    host_organisation_id TEXT NOT NULL,
    coordinator          TEXT,
    -- 1 open, 2 confirmed, 3 ended (the wire numbers of MatchStage).
    stage                INTEGER NOT NULL,
    PRIMARY KEY (municipality, match_id)
);
CREATE INDEX matching_matches_piece ON matching_matches (municipality, piece_id, seq);
CREATE INDEX matching_matches_activity ON matching_matches (municipality, activity_id, seq);
CREATE INDEX matching_matches_resident ON matching_matches (municipality, resident_id, seq);
CREATE INDEX matching_matches_coordinator ON matching_matches (municipality, coordinator, seq);
