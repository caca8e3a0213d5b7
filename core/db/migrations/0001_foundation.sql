-- Foundation: reference data, patients (PHI encrypted by the application), orders, samples and their
-- transitions, staff, the append-only hash-chained audit log and the transactional outbox.

CREATE TABLE centres (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('collection', 'lab')),
    city        text NOT NULL
);

CREATE TABLE test_catalogue (
    code             text PRIMARY KEY,
    name             text NOT NULL,
    sample_type      text NOT NULL,
    turnaround_hours integer NOT NULL CHECK (turnaround_hours > 0),
    price_paise      integer NOT NULL CHECK (price_paise >= 0)
);

INSERT INTO test_catalogue (code, name, sample_type, turnaround_hours, price_paise) VALUES
    ('CBC',    'Complete blood count',            'whole_blood_edta', 6,  35000),
    ('LIPID',  'Lipid profile',                   'serum',            12, 60000),
    ('FBS',    'Fasting blood glucose',           'fluoride_plasma',  4,  10000),
    ('HBA1C',  'Glycated haemoglobin (HbA1c)',    'whole_blood_edta', 12, 45000),
    ('LFT',    'Liver function tests',            'serum',            12, 70000),
    ('KFT',    'Kidney function tests',           'serum',            12, 65000),
    ('TSH',    'Thyroid stimulating hormone',     'serum',            24, 40000),
    ('URINE',  'Urine routine and microscopy',    'urine',            6,  20000);

-- PHI columns (*_enc) hold AES-256-GCM envelopes written by core.crypto; nothing here can read them.
CREATE TABLE patients (
    id           uuid PRIMARY KEY,
    mrn          text NOT NULL UNIQUE,
    name_enc     bytea NOT NULL,
    phone_enc    bytea,
    phone_lookup bytea,
    dob_enc      bytea,
    address_enc  bytea,
    sex          text NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    -- Last per-patient event sequence number handed out; bumped in the same transaction as the event, so
    -- the sequence has no gaps and follows commit order (the row lock serialises one patient's events).
    event_seq    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patients_phone_lookup ON patients (phone_lookup);
CREATE SEQUENCE patient_mrn_seq;

CREATE TABLE staff (
    id             uuid PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username = lower(username)),
    display_name   text NOT NULL,
    role           text NOT NULL,
    password_hash  text NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id                uuid PRIMARY KEY,
    patient_id        uuid NOT NULL REFERENCES patients (id),
    centre_id         text NOT NULL REFERENCES centres (id),
    referring_doctor  text,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_patient ON orders (patient_id);

CREATE TABLE order_tests (
    order_id   uuid NOT NULL REFERENCES orders (id),
    test_code  text NOT NULL REFERENCES test_catalogue (code),
    PRIMARY KEY (order_id, test_code)
);

CREATE TABLE samples (
    id                 uuid PRIMARY KEY,
    barcode            text NOT NULL UNIQUE,
    order_id           uuid NOT NULL REFERENCES orders (id),
    patient_id         uuid NOT NULL REFERENCES patients (id),
    sample_type        text NOT NULL,
    state              text NOT NULL,
    version            integer NOT NULL DEFAULT 1,
    centre_id          text NOT NULL REFERENCES centres (id),
    rejection_reason   text,
    replaces_sample_id uuid REFERENCES samples (id),
    collected_at       timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX samples_patient ON samples (patient_id);
CREATE INDEX samples_order ON samples (order_id);

-- The sample's history: one row per applied transition (the first row is the collection itself).
CREATE TABLE sample_transitions (
    id          bigserial PRIMARY KEY,
    sample_id   uuid NOT NULL REFERENCES samples (id),
    from_state  text,
    to_state    text NOT NULL,
    version     integer NOT NULL,
    actor_id    text NOT NULL,
    actor_role  text NOT NULL,
    centre_id   text NOT NULL REFERENCES centres (id),
    reason      text,
    note        text,
    at          timestamptz NOT NULL,
    UNIQUE (sample_id, version)
);

-- A barcode that matched nothing, kept for a person to review (never dropped).
CREATE TABLE unknown_scans (
    id              bigserial PRIMARY KEY,
    barcode         text NOT NULL,
    attempted_state text,
    actor_id        text NOT NULL,
    actor_role      text NOT NULL,
    centre_id       text,
    request_id      text,
    source_ip       text,
    at              timestamptz NOT NULL DEFAULT now(),
    reviewed_at     timestamptz,
    reviewed_by     text
);
CREATE INDEX unknown_scans_open ON unknown_scans (at) WHERE reviewed_at IS NULL;

-- ---------------------------------------------------------------------------------------------------------
-- Audit log: INSERT-only (UPDATE, DELETE and TRUNCATE are refused by triggers) and hash-chained.
-- Rows are chained at COMMIT by a deferred constraint trigger, in commit order, into audit_chain:
--   hash = sha256(prev_hash || canonical text of (chain, seq, audit row)).
-- There are 8 independent chains (picked by backend pid) so that concurrent commits do not queue behind one
-- head row through each other's WAL flush; each chain is tamper-evident on its own. Taking a head's lock at
-- commit (not at insert) keeps it held only while committing. core.audit.verify recomputes every link from
-- the stored columns and reports the first row that does not match, a row missing from either table, or a
-- head ahead of its chain.
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id     text NOT NULL,
    actor_role   text NOT NULL,
    action       text NOT NULL,
    entity_type  text NOT NULL,
    entity_id    text,
    patient_id   uuid,
    outcome      text NOT NULL,
    summary      jsonb NOT NULL DEFAULT '{}'::jsonb,
    request_id   text,
    source_ip    text,
    user_agent   text
);
CREATE INDEX audit_log_patient ON audit_log (patient_id, id) WHERE patient_id IS NOT NULL;

CREATE TABLE audit_chain (
    chain      smallint NOT NULL,
    seq        bigint NOT NULL,
    audit_id   bigint NOT NULL UNIQUE,
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL,
    PRIMARY KEY (chain, seq)
);

CREATE TABLE audit_head (
    chain      smallint PRIMARY KEY CHECK (chain BETWEEN 0 AND 7),
    last_seq   bigint NOT NULL,
    last_hash  bytea NOT NULL
);
INSERT INTO audit_head (chain, last_seq, last_hash)
    SELECT g, 0, decode(repeat('00', 32), 'hex') FROM generate_series(0, 7) AS g;

CREATE FUNCTION audit_chain_append() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    head audit_head%ROWTYPE;
    digest bytea;
BEGIN
    SELECT * INTO head FROM audit_head WHERE chain = pg_backend_pid() % 8 FOR UPDATE;
    digest := sha256(head.last_hash || convert_to(jsonb_build_array(
        head.chain, head.last_seq + 1, NEW.id, (extract(epoch FROM NEW.at) * 1000000)::bigint, NEW.actor_id, NEW.actor_role,
        NEW.action, NEW.entity_type, NEW.entity_id, NEW.patient_id, NEW.outcome, NEW.summary, NEW.request_id,
        NEW.source_ip, NEW.user_agent)::text, 'UTF8'));
    INSERT INTO audit_chain (chain, seq, audit_id, prev_hash, hash)
        VALUES (head.chain, head.last_seq + 1, NEW.id, head.last_hash, digest);
    UPDATE audit_head SET last_seq = head.last_seq + 1, last_hash = digest WHERE chain = head.chain;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_append();

CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE FUNCTION audit_head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.chain <> OLD.chain OR NEW.last_seq <> OLD.last_seq + 1 THEN
        RAISE EXCEPTION 'the audit head only moves forward by one' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();

-- ---------------------------------------------------------------------------------------------------------
-- Outbox: written in the same transaction as the change it announces; the relay publishes unpublished rows
-- to Redis and then marks them. Rows are kept: they are also each patient's event history for resume.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE,
    patient_id    uuid NOT NULL REFERENCES patients (id),
    patient_seq   bigint NOT NULL,
    type          text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at  timestamptz,
    UNIQUE (patient_id, patient_seq)
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
