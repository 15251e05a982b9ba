-- Lists that ask for a skill in a district find its holders there directly: each skill row
-- carries its holder's district (rewritten with the profile), indexed with the skill.
ALTER TABLE registry_resident_skills ADD COLUMN district TEXT;
UPDATE registry_resident_skills s SET district = r.district
FROM registry_residents r WHERE r.municipality = s.municipality AND r.resident_id = s.resident_id;
CREATE INDEX registry_resident_skills_district
    ON registry_resident_skills (municipality, skill, district, resident_id) INCLUDE (level);
