-- Read models of the activity context.
--
-- `activity_hosts` (projection `activity.hosts`): the registry's host organisations as this context
-- needs them, learned from registry events. `activity_activities`, `activity_pieces` and
-- `activity_piece_skills` (projection `activity.search`): the activity context's own events shaped
-- for lists and searches. A piece row carries copies of its activity's filter columns and its
-- weekly slot (weekday and minutes in JST), so an open-piece search reads one table. Dates are
-- ISO `YYYY-MM-DD` text (JST), which orders correctly on both backends.
CREATE TABLE activity_hosts (
    municipality    TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    suspended       BOOLEAN NOT NULL,
    -- ",worker_dispatch,paid_placement," style list of the registry's licence names.
    licences        TEXT NOT NULL,
    PRIMARY KEY (municipality, organisation_id)
);

CREATE TABLE activity_activities (
    municipality         TEXT NOT NULL,
    activity_id          TEXT NOT NULL,
    host_organisation_id TEXT NOT NULL,
    status               INTEGER NOT NULL,
    title                TEXT NOT NULL,
    field                INTEGER NOT NULL,
    engagement_form      INTEGER NOT NULL,
    district             TEXT NOT NULL,
    online               BOOLEAN NOT NULL,
    application_mode     INTEGER NOT NULL,
    period_start         TEXT NOT NULL,
    period_end           TEXT NOT NULL,
    PRIMARY KEY (municipality, activity_id)
);
CREATE INDEX activity_activities_status ON activity_activities (municipality, status, activity_id);
CREATE INDEX activity_activities_host ON activity_activities (municipality, host_organisation_id, activity_id);
CREATE INDEX activity_activities_field ON activity_activities (municipality, status, field, activity_id);
CREATE INDEX activity_activities_form ON activity_activities (municipality, status, engagement_form, activity_id);
CREATE INDEX activity_activities_district ON activity_activities (municipality, status, district, activity_id);
-- "this field in my district", the most common search, without scanning a whole district.
CREATE INDEX activity_activities_field_district ON activity_activities (municipality, status, field, district, activity_id);

CREATE TABLE activity_pieces (
    municipality    TEXT NOT NULL,
    piece_id        TEXT NOT NULL,
    activity_id     TEXT NOT NULL,
    status          INTEGER NOT NULL,
    field           INTEGER NOT NULL,
    engagement_form INTEGER NOT NULL,
    district        TEXT NOT NULL,
    activity_title  TEXT NOT NULL,
    title           TEXT NOT NULL,
    headcount       INTEGER NOT NULL,
    confirmed       INTEGER NOT NULL,
    starts_on       TEXT NOT NULL,
    ends_on         TEXT NOT NULL,
    -- The weekly slot; NULL for a one-off piece.
    weekday         INTEGER,
    start_minute    INTEGER,
    end_minute      INTEGER,
    -- The schedule as stored in the event (JSON), to answer with.
    schedule        TEXT NOT NULL,
    PRIMARY KEY (municipality, piece_id)
);
CREATE INDEX activity_pieces_activity ON activity_pieces (municipality, activity_id);
CREATE INDEX activity_pieces_status ON activity_pieces (municipality, status, piece_id);
CREATE INDEX activity_pieces_field ON activity_pieces (municipality, status, field, piece_id);
CREATE INDEX activity_pieces_form ON activity_pieces (municipality, status, engagement_form, piece_id);
CREATE INDEX activity_pieces_district ON activity_pieces (municipality, status, district, piece_id);
CREATE INDEX activity_pieces_field_district ON activity_pieces (municipality, status, field, district, piece_id);
CREATE INDEX activity_pieces_slot ON activity_pieces (municipality, status, weekday, start_minute, end_minute);

CREATE TABLE activity_piece_skills (
    municipality TEXT NOT NULL,
    skill        TEXT NOT NULL,
    piece_id     TEXT NOT NULL,
    activity_id  TEXT NOT NULL,
    level        INTEGER NOT NULL,
    PRIMARY KEY (municipality, skill, piece_id)
);
CREATE INDEX activity_piece_skills_piece ON activity_piece_skills (municipality, piece_id);
CREATE INDEX activity_piece_skills_activity ON activity_piece_skills (municipality, skill, activity_id, level);
