-- Read models of the registry, rebuilt from its own events (projection `registry.directory`).
-- Personal data appears only sealed (`display_name`) or as keyed hashes that die with the
-- person (`name_index`, `kana_index`: cleared when the person is erased, never rebuilt after).
CREATE TABLE registry_residents (
    municipality     TEXT NOT NULL,
    resident_id      TEXT NOT NULL,
    mode             INTEGER NOT NULL,
    status           INTEGER NOT NULL,
    life_stage       INTEGER,
    district         TEXT,
    birth_year       INTEGER,
    consent_matching BOOLEAN NOT NULL,
    guardian_consent BOOLEAN NOT NULL,
    display_name     TEXT,
    account_subject  TEXT,
    name_index       TEXT,
    kana_index       TEXT,
    PRIMARY KEY (municipality, resident_id)
);
CREATE INDEX registry_residents_district ON registry_residents (municipality, district, resident_id);
CREATE INDEX registry_residents_life_stage ON registry_residents (municipality, life_stage, resident_id);
CREATE INDEX registry_residents_status ON registry_residents (municipality, status, resident_id);
CREATE INDEX registry_residents_account ON registry_residents (municipality, account_subject);
CREATE INDEX registry_residents_name ON registry_residents (municipality, name_index, resident_id);
CREATE INDEX registry_residents_kana ON registry_residents (municipality, kana_index, resident_id);

CREATE TABLE registry_resident_skills (
    municipality TEXT NOT NULL,
    skill        TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    level        INTEGER NOT NULL,
    PRIMARY KEY (municipality, skill, resident_id)
);
CREATE INDEX registry_resident_skills_resident ON registry_resident_skills (municipality, resident_id);

CREATE TABLE registry_resident_interests (
    municipality TEXT NOT NULL,
    field        INTEGER NOT NULL,
    resident_id  TEXT NOT NULL,
    PRIMARY KEY (municipality, field, resident_id)
);
CREATE INDEX registry_resident_interests_resident ON registry_resident_interests (municipality, resident_id);

CREATE TABLE registry_resident_windows (
    municipality TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    weekday      INTEGER NOT NULL,
    start_minute INTEGER NOT NULL,
    end_minute   INTEGER NOT NULL,
    -- Ordered by resident within a weekday, so "free on Tuesday 10:00-11:00" merges with the
    -- residents' own order and stops after one page.
    PRIMARY KEY (municipality, weekday, resident_id, start_minute)
);
CREATE INDEX registry_resident_windows_resident ON registry_resident_windows (municipality, resident_id);

CREATE TABLE registry_organisations (
    municipality    TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    kind            INTEGER NOT NULL,
    name            TEXT NOT NULL,
    district        TEXT NOT NULL,
    suspended       BOOLEAN NOT NULL,
    -- ",1,4," style lists, so one LIKE finds a member without another table.
    fields          TEXT NOT NULL,
    licences        TEXT NOT NULL,
    PRIMARY KEY (municipality, organisation_id)
);
