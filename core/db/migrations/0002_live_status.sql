-- Live status: what a patient has acknowledged seeing (for example a ready report), once per event.
CREATE TABLE patient_acks (
    patient_id  uuid NOT NULL REFERENCES patients (id),
    event_id    uuid NOT NULL,
    sample_id   uuid REFERENCES samples (id),
    acked_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (patient_id, event_id)
);

