-- Indexes that serve only some residents hold only those, so a registration does not pay for
-- entries no query reads: most residents registered by staff have no account of their own, many
-- give no reading of their name, and lists by status look for the few who are not active
-- (active residents are most of the table: those lists read the primary key in order).
DROP INDEX registry_residents_account;
CREATE INDEX registry_residents_account ON registry_residents (municipality, account_subject)
    WHERE account_subject IS NOT NULL;
DROP INDEX registry_residents_kana;
CREATE INDEX registry_residents_kana ON registry_residents (municipality, kana_index, resident_id)
    WHERE kana_index IS NOT NULL;
DROP INDEX registry_residents_status;
CREATE INDEX registry_residents_inactive ON registry_residents (municipality, status, resident_id)
    WHERE status <> 1;
