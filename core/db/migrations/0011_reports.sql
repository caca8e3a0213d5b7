-- Signed reports. The canonical content (PHI) and the PDF are stored encrypted; the hash, signature and public
-- key are what the public verification page checks.
CREATE TABLE reports (
    id            uuid PRIMARY KEY,
    sample_id     uuid NOT NULL REFERENCES samples (id),
    version       integer NOT NULL,
    content_enc   bytea NOT NULL,
    content_hash  bytea NOT NULL,
    signature     bytea NOT NULL,
    public_key    bytea NOT NULL,
    signer_id     text NOT NULL,
    issued_at     timestamptz NOT NULL,
    pdf_enc       bytea NOT NULL,
    UNIQUE (sample_id, version)
);
