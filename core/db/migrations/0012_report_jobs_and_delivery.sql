-- Reports are rendered by the worker's job queue (PgQueuer tables are installed by core/jobs/queue.py).
-- Approval signs the content and stores the row; rendering stores the encrypted PDF as a file (core/storage.py)
-- and only then releases the tube, so a patient is never told of a report that cannot be downloaded yet.
-- Existing rows lose their in-database PDF: the worker re-renders every report whose file is missing, from the
-- signed content (the same document, the same signature).
ALTER TABLE reports DROP COLUMN pdf_enc;
ALTER TABLE reports
    ADD COLUMN verify_url  text NOT NULL DEFAULT '',
    ADD COLUMN file_name   text,
    ADD COLUMN file_sha256 bytea,
    ADD COLUMN rendered_at timestamptz,
    -- rows that existed before this migration: re-rendered quietly (their patients were told when they came out)
    ADD COLUMN backfilled  boolean NOT NULL DEFAULT false;
UPDATE reports SET backfilled = true;
CREATE INDEX reports_unrendered ON reports (issued_at) WHERE rendered_at IS NULL;

-- How each patient wants to hear from us, and in which language (the bots issue adds the ways to choose).
ALTER TABLE patients
    ADD COLUMN notify_channels text[] NOT NULL DEFAULT '{sms}',
    ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'hi'));

-- One row per report and channel: the unique key is what makes "told once per channel" hold under retried,
-- duplicated and concurrent jobs.
CREATE TABLE deliveries (
    id          bigserial PRIMARY KEY,
    report_id   uuid NOT NULL REFERENCES reports (id),
    patient_id  uuid NOT NULL REFERENCES patients (id),
    purpose     text NOT NULL CHECK (purpose IN ('report.ready', 'report.updated')),
    channel     text NOT NULL,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain', 'skipped')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (report_id, channel)
);
CREATE INDEX deliveries_patient ON deliveries (patient_id, created_at);

-- A job that failed its last retry lands here (and raises an alert) instead of vanishing.
CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    entrypoint  text NOT NULL,
    payload     jsonb NOT NULL,
    attempts    integer NOT NULL,
    error       text NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now(),
    requeued_at timestamptz,
    requeued_by text
);
CREATE INDEX dead_letters_open ON dead_letters (failed_at) WHERE requeued_at IS NULL;
