-- A resident's interests and weekly windows are found through the primary keys, one probe per
-- field and per weekday (both closed vocabularies), when a profile is rewritten; no query reads
-- them by resident otherwise. Their indexes by resident cost every registration four entries.
DROP INDEX registry_resident_interests_resident;
DROP INDEX registry_resident_windows_resident;
