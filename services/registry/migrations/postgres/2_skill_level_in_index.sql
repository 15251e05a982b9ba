-- Lists by skill filter on the level too: with the level in the primary key's index, they read
-- only the index (once the table is vacuumed) instead of visiting every holder's row.
ALTER TABLE registry_resident_skills
    DROP CONSTRAINT registry_resident_skills_pkey,
    ADD PRIMARY KEY (municipality, skill, resident_id) INCLUDE (level);
