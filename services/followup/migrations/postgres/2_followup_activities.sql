-- `followup.activities`: what follow-up needs of each activity, from activity design's events:
-- its host and title (for certificates), its offer per session (for awards), its coordinator
-- (for caseloads) and, for an internship, its period and milestones (for reminders).
CREATE TABLE followup_activities (
    municipality TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    host_organisation_id TEXT NOT NULL,
    title TEXT NOT NULL,
    engagement_form TEXT NOT NULL,
    transport_fee_yen BIGINT NOT NULL,
    honorarium_yen BIGINT NOT NULL,
    local_points BIGINT NOT NULL,
    certificate BOOLEAN NOT NULL,
    coordinator_id TEXT,
    -- An internship's period and milestones (JST dates), if it is one.
    internship_start TEXT,
    internship_end TEXT,
    orientation TEXT,
    mid_term_review TEXT,
    final_reflection TEXT,
    PRIMARY KEY (municipality, activity_id)
);
