-- Indexes that serve only some residents hold only those, so a registration does not pay for
-- entries no query reads: most residents registered by staff have no account of their own, and
-- many give no reading of their name. (The status index stays whole here: SQLite uses a partial
-- index only when the query's own text implies its condition, and the status is a parameter.)
DROP INDEX registry_residents_account;
CREATE INDEX registry_residents_account ON registry_residents (municipality, account_subject)
    WHERE account_subject IS NOT NULL;
DROP INDEX registry_residents_kana;
CREATE INDEX registry_residents_kana ON registry_residents (municipality, kana_index, resident_id)
    WHERE kana_index IS NOT NULL;
