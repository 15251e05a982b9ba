-- `followup.reminders`: each engagement as the reminder scheduler reads it (from this context's
-- own events), and every reminder found, by its log position, for FollowReminders.
CREATE TABLE followup_schedule (
    municipality TEXT NOT NULL,
    engagement_id TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    host_organisation_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    -- Weekdays of its sessions, Monday = bit 0.
    weekdays INTEGER NOT NULL,
    -- JST dates.
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    ended BOOLEAN NOT NULL DEFAULT FALSE,
    last_check_in TEXT,
    -- Milestones reflected on, by their wire number as bit.
    reflected INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (municipality, engagement_id)
);
CREATE INDEX followup_schedule_open ON followup_schedule (municipality, ended, last_day);

CREATE TABLE followup_reminders (
    municipality TEXT NOT NULL,
    position BIGINT NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    engagement_id TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    host_organisation_id TEXT NOT NULL,
    due_on TEXT NOT NULL,
    milestone TEXT,
    PRIMARY KEY (municipality, position)
);
