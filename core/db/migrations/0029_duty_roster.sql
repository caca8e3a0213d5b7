-- The on-duty roster for critical values: who is the first person messaged about a critical value during each
-- shift. When no shift covers the hour, the escalation chain's first person is.
CREATE TABLE duty_roster (
    id          bigserial PRIMARY KEY,
    staff_id    uuid NOT NULL REFERENCES staff (id),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at AND ends_at - starts_at <= interval '24 hours')
);
CREATE INDEX duty_roster_by_end ON duty_roster (ends_at);
