-- Every inbound HL7 message, stored raw (encrypted) with its outcome; the same control id from the same sender
-- is applied once. Messages not applied wait in a review queue.
CREATE TABLE hl7_messages (
    id           uuid PRIMARY KEY,
    sender       text NOT NULL,
    control_id   text NOT NULL,
    message_type text,
    raw_enc      bytea NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    ack_code     text NOT NULL CHECK (ack_code IN ('AA', 'AE', 'AR')),
    outcome      text NOT NULL,
    detail       text,
    sample_id    uuid REFERENCES samples (id),
    results      integer NOT NULL DEFAULT 0,
    reviewed_at  timestamptz,
    reviewed_by  text,
    UNIQUE (sender, control_id)
);
CREATE INDEX hl7_messages_review ON hl7_messages (received_at) WHERE ack_code <> 'AA' AND reviewed_at IS NULL;

-- Typed results, one row per observation per message (a corrected result is a new row, the old one is kept).
CREATE TABLE results (
    id              bigserial PRIMARY KEY,
    sample_id       uuid NOT NULL REFERENCES samples (id),
    message_id      uuid NOT NULL REFERENCES hl7_messages (id),
    set_id          text,
    code            text NOT NULL,
    name            text NOT NULL,
    code_system     text,
    value_kind      text CHECK (value_kind IN ('numeric', 'text', 'coded')),
    value_num       numeric,
    comparator      text CHECK (comparator IN ('<', '>', '<=', '>=')),
    value_text      text,
    value_code      text,
    unit            text,
    reference_range text,
    flag            text CHECK (flag IN ('L', 'H', 'LL', 'HH', 'A', 'AA', 'N', '<', '>')),
    status          text NOT NULL CHECK (status IN ('preliminary', 'final', 'corrected')),
    observed_at     text,
    notes           text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX results_sample ON results (sample_id, code, id);
