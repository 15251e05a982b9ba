-- `followup.reminders` also keeps what the latest check-in of each engagement fears (risk flag
-- codes, comma-separated), for coordinators' caseloads.
ALTER TABLE followup_schedule ADD COLUMN risks TEXT NOT NULL DEFAULT '';
