-- `followup.residents`: which residents consented to research use (wellbeing measures are taken
-- only with it), from the registry's events.
CREATE TABLE followup_consents (
    municipality TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    research BOOLEAN NOT NULL,
    PRIMARY KEY (municipality, resident_id)
);
