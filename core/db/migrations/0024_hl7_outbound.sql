-- Results out: released reports go, as ORU^R01 over MLLP, to the systems of the doctors who ordered them and to the
-- LIS an order came from. One row per report version and destination: sent once (its control id is fixed, so a
-- resend after a crash is a duplicate the receiver recognises), retried, and dead-lettered with an alert.
CREATE TABLE hl7_destinations (
    id                 text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,40}$'),
    name               text NOT NULL,
    host               text NOT NULL,
    port               integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    receiving_app      text NOT NULL DEFAULT '',
    receiving_facility text NOT NULL DEFAULT '',
    order_source       text UNIQUE,  -- results of orders from this sender (MSH-3^MSH-4) go here
    active             boolean NOT NULL DEFAULT true
);
ALTER TABLE doctors ADD COLUMN destination_id text REFERENCES hl7_destinations (id);

CREATE TABLE hl7_outbound (
    id             bigserial PRIMARY KEY,
    report_id      uuid NOT NULL REFERENCES reports (id),
    destination_id text NOT NULL REFERENCES hl7_destinations (id),
    control_id     text NOT NULL UNIQUE,
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'refused')),
    attempts       integer NOT NULL DEFAULT 0,
    ack_code       text,
    ack_text       text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    UNIQUE (report_id, destination_id)
);
CREATE INDEX hl7_outbound_pending ON hl7_outbound (updated_at) WHERE status = 'pending';
