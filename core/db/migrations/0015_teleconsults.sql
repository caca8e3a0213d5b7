-- Teleconsults: doctors' slots, the booked consult, one join link per side, both sides' consent to transcription,
-- the transcript (one encrypted row per spoken line) and the note (versions: a signed version never changes).

CREATE TABLE consult_slots (
    id         bigserial PRIMARY KEY,
    doctor_id  uuid NOT NULL REFERENCES staff (id),
    starts_at  timestamptz NOT NULL,
    minutes    integer NOT NULL DEFAULT 15 CHECK (minutes BETWEEN 5 AND 60),
    booked     boolean NOT NULL DEFAULT false,
    UNIQUE (doctor_id, starts_at)
);
CREATE INDEX consult_slots_open ON consult_slots (starts_at) WHERE NOT booked;

CREATE TABLE consults (
    id            uuid PRIMARY KEY,
    ref           text NOT NULL UNIQUE,
    slot_id       bigint NOT NULL REFERENCES consult_slots (id),
    doctor_id     uuid NOT NULL REFERENCES staff (id),
    phone_lookup  text NOT NULL,
    phone_enc     bytea NOT NULL,
    patient_id    uuid REFERENCES patients (id),  -- whose lab results the doctor sees beside the call
    reason_enc    bytea,                          -- the patient's words when booking (e.g. from a symptom check)
    language      text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'hi')),
    channel       text NOT NULL,
    status        text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled', 'completed')),
    line_seq      integer NOT NULL DEFAULT 0,     -- the last transcript line's number
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
-- One live consult per slot; a cancelled one frees it.
CREATE UNIQUE INDEX consults_slot_live ON consults (slot_id) WHERE status <> 'cancelled';
CREATE INDEX consults_phone ON consults (phone_lookup, created_at);
CREATE INDEX consults_doctor ON consults (doctor_id, created_at);

-- A join link is a random secret kept only as its hash. It opens during the consult's window and binds to the
-- first device that opens it (a device id kept in a cookie): a forwarded link does not let a second device in.
CREATE TABLE consult_links (
    token_hash    bytea PRIMARY KEY,
    token_enc     bytea NOT NULL,  -- the link itself, encrypted, so a reminder can send it again
    consult_id    uuid NOT NULL REFERENCES consults (id),
    side          text NOT NULL CHECK (side IN ('doctor', 'patient')),
    opens_at      timestamptz NOT NULL,
    closes_at     timestamptz NOT NULL,
    device_hash   bytea,
    first_used_at timestamptz,
    UNIQUE (consult_id, side)
);

-- Consent to recording and transcription, given on screen by each side; withdrawing it stops the transcript.
CREATE TABLE consult_consents (
    consult_id  uuid NOT NULL REFERENCES consults (id),
    side        text NOT NULL CHECK (side IN ('doctor', 'patient')),
    given       boolean NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consult_id, side)
);

CREATE TABLE consult_lines (
    consult_id  uuid NOT NULL REFERENCES consults (id),
    seq         integer NOT NULL,
    speaker     text NOT NULL CHECK (speaker IN ('doctor', 'patient')),
    started_ms  integer NOT NULL CHECK (started_ms >= 0),
    ended_ms    integer NOT NULL CHECK (ended_ms >= started_ms),
    text_enc    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consult_id, seq)
);

CREATE TABLE consult_notes (
    consult_id    uuid NOT NULL REFERENCES consults (id),
    version       integer NOT NULL CHECK (version >= 1),
    body_enc      bytea NOT NULL,            -- the four sections with each sentence's source lines (JSON)
    status        text NOT NULL CHECK (status IN ('draft', 'signed')),
    edited_by     uuid NOT NULL REFERENCES staff (id),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    signed_by     uuid REFERENCES staff (id),
    signed_at     timestamptz,
    content_hash  bytea,                     -- SHA-256 of the signed body
    amends        integer,                   -- the signed version this one amends
    PRIMARY KEY (consult_id, version),
    CHECK ((status = 'signed') = (signed_at IS NOT NULL AND signed_by IS NOT NULL AND content_hash IS NOT NULL))
);
-- At most one draft per consult at a time.
CREATE UNIQUE INDEX consult_notes_one_draft ON consult_notes (consult_id) WHERE status = 'draft';

-- A signed note is immutable: no UPDATE or DELETE of a signed row, whoever asks. Amendments are new versions.
CREATE FUNCTION consult_note_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        RAISE EXCEPTION 'a signed consult note cannot be changed; amend it as a new version'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER consult_notes_signed_immutable BEFORE UPDATE OR DELETE ON consult_notes
    FOR EACH ROW EXECUTE FUNCTION consult_note_immutable();
