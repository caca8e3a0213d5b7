-- Patients and orders from the lab's own systems (HL7 ADT, ORM, OML), doctors who order, and test codes as other
-- systems send them.

-- An MRN is unique within the system that assigned it (PID-3.4); ours have the authority ''.
ALTER TABLE patients ADD COLUMN mrn_authority text NOT NULL DEFAULT '';
ALTER TABLE patients DROP CONSTRAINT patients_mrn_key;
ALTER TABLE patients ADD CONSTRAINT patients_mrn_unique UNIQUE (mrn_authority, mrn);
-- A merged patient (ADT^A40) points at the one that survived; a reversal clears it.
ALTER TABLE patients ADD COLUMN merged_into uuid REFERENCES patients (id);
ALTER TABLE patients ADD COLUMN updated_at timestamptz;

-- Each merge, with the rows it moved (table -> ids), so that an operator can undo it exactly.
CREATE TABLE patient_merges (
    id           uuid PRIMARY KEY,
    surviving_id uuid NOT NULL REFERENCES patients (id),
    merged_id    uuid NOT NULL REFERENCES patients (id),
    moved        jsonb NOT NULL,
    source       text NOT NULL,
    merged_at    timestamptz NOT NULL DEFAULT now(),
    undone_at    timestamptz,
    undone_by    text,
    CHECK (surviving_id <> merged_id)
);
CREATE INDEX patient_merges_merged ON patient_merges (merged_id) WHERE undone_at IS NULL;

-- Doctors who order tests, as the ordering systems name them (ORC-12 / OBR-16: an id within an authority). One
-- first seen in a message is kept unverified until a person confirms it.
CREATE TABLE doctors (
    id         uuid PRIMARY KEY,
    authority  text NOT NULL DEFAULT '',
    code       text NOT NULL,
    name       text NOT NULL,
    verified   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (authority, code)
);

-- Codes other systems use for our tests: LOINC ('LN') and any sender's local codes (their coding system's name).
CREATE TABLE test_codes (
    system    text NOT NULL,
    code      text NOT NULL,
    test_code text NOT NULL REFERENCES test_catalogue (code),
    PRIMARY KEY (system, code)
);
INSERT INTO test_codes (system, code, test_code) VALUES
    ('LN', '58410-2', 'CBC'),    -- CBC panel - Blood by Automated count
    ('LN', '57021-8', 'CBC'),    -- CBC W Auto Differential panel - Blood
    ('LN', '57698-3', 'LIPID'),  -- Lipid panel with direct LDL - Serum or Plasma
    ('LN', '24331-1', 'LIPID'),  -- Lipid 1996 panel - Serum or Plasma
    ('LN', '1558-6',  'FBS'),    -- Fasting glucose [Mass/volume] in Serum or Plasma
    ('LN', '4548-4',  'HBA1C'),  -- Hemoglobin A1c/Hemoglobin.total in Blood
    ('LN', '24325-3', 'LFT'),    -- Hepatic function 2000 panel - Serum or Plasma
    ('LN', '24362-6', 'KFT'),    -- Renal function 2000 panel - Serum or Plasma
    ('LN', '3016-3',  'TSH'),    -- Thyrotropin [Units/volume] in Serum or Plasma
    ('LN', '24357-6', 'URINE');  -- Urinalysis macro (dipstick) panel - Urine

-- An order from another system: its sender and placer number (ORC-2, or the placer group ORC-4) make it unique;
-- cancelled before collection, it stays, marked.
ALTER TABLE orders ADD COLUMN source text;
ALTER TABLE orders ADD COLUMN placer_number text;
ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled'));
ALTER TABLE orders ADD COLUMN doctor_id uuid REFERENCES doctors (id);
ALTER TABLE orders ADD COLUMN collect_at timestamptz;
CREATE UNIQUE INDEX orders_placer ON orders (source, placer_number) WHERE placer_number IS NOT NULL;

-- Each ordered test is a line of its own in HL7 (an ORC with its OBR): cancelled or changed one by one.
ALTER TABLE order_tests ADD COLUMN placer_line text;
ALTER TABLE order_tests ADD COLUMN status text NOT NULL DEFAULT 'ordered' CHECK (status IN ('ordered', 'cancelled'));

-- An applied message may still want a person's look (a doctor first seen in it): the review queue shows it.
ALTER TABLE hl7_messages ADD COLUMN needs_review text;
CREATE INDEX hl7_messages_needs_review ON hl7_messages (received_at) WHERE needs_review IS NOT NULL AND reviewed_at IS NULL;
