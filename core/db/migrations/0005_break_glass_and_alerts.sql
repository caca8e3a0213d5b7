-- Break-glass: a doctor's time-limited, reasoned access to a patient who is not theirs.
CREATE TABLE break_glass (
    id          bigserial PRIMARY KEY,
    staff_id    text NOT NULL,
    patient_id  uuid NOT NULL REFERENCES patients (id),
    reason      text NOT NULL CHECK (length(reason) BETWEEN 10 AND 500),
    granted_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX break_glass_active ON break_glass (staff_id, patient_id, expires_at);

-- Things an administrator must look at (break-glass use, unusual access). Acknowledged, never deleted.
CREATE TABLE alerts (
    id               bigserial PRIMARY KEY,
    kind             text NOT NULL,
    staff_id         text,
    patient_id       uuid,
    detail           jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at  timestamptz,
    acknowledged_by  text
);
CREATE INDEX alerts_open ON alerts (created_at) WHERE acknowledged_at IS NULL;
