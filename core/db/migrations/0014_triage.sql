-- Symptom checks made by a signed-in person: their words (encrypted) and the result, for their record and for
-- clinicians reviewing the rules. Anonymous checks are answered and kept nowhere.
CREATE TABLE triage_assessments (
    id           uuid PRIMARY KEY,
    phone_lookup text NOT NULL,
    text_enc     bytea NOT NULL,
    level        text NOT NULL CHECK (level IN ('emergency', 'urgent', 'routine', 'self_care')),
    result       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX triage_assessments_phone ON triage_assessments (phone_lookup, created_at);
