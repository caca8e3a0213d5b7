-- Who is called about a critical value, in order: the on-duty doctor, the next doctor, the lab manager.
CREATE TABLE escalation_chain (
    position   integer PRIMARY KEY CHECK (position > 0),
    staff_id   uuid NOT NULL REFERENCES staff (id),
    label      text NOT NULL,
    phone_enc  bytea NOT NULL
);

-- One alert per critical result, escalated on a timer until a person acknowledges it.
CREATE TABLE critical_alerts (
    id                 bigserial PRIMARY KEY,
    result_id          bigint NOT NULL UNIQUE REFERENCES results (id),
    sample_id          uuid NOT NULL REFERENCES samples (id),
    level              integer NOT NULL DEFAULT 0,     -- position in the chain last notified (0: none yet)
    created_at         timestamptz NOT NULL,
    next_step_at       timestamptz NOT NULL,
    acknowledged_at    timestamptz,
    acknowledged_by    text
);
CREATE INDEX critical_alerts_due ON critical_alerts (next_step_at) WHERE acknowledged_at IS NULL;
