-- Lists that ask for a free window in a district find the residents free then there directly:
-- each window row carries its holder's district (rewritten with the profile), indexed by
-- weekday with the times, so the window's holders in a district are one index range to join
-- with the skill's holders there, instead of one probe per skill holder.
ALTER TABLE registry_resident_windows ADD COLUMN district TEXT;
UPDATE registry_resident_windows SET district = (
    SELECT r.district FROM registry_residents r
    WHERE r.municipality = registry_resident_windows.municipality
      AND r.resident_id = registry_resident_windows.resident_id);
CREATE INDEX registry_resident_windows_district
    ON registry_resident_windows (municipality, weekday, district, resident_id, start_minute,
        end_minute);
