-- Lists by skill filter on the level too: an index that ends with the level answers them without
-- visiting the table (SQLite has no INCLUDE; the order by resident within a skill is kept).
CREATE INDEX registry_resident_skills_level ON registry_resident_skills (municipality, skill, resident_id, level);
