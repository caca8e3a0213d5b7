-- Report files (already encrypted) kept in PostgreSQL when LABPULSE_FILE_STORE=postgres: every machine of a
-- deployment reads the same files, and they are backed up with the rows that name them (issue 20).
CREATE TABLE stored_files (
    name       text PRIMARY KEY,
    data       bytea NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
-- Sealed bytes do not compress: keep them out of line without trying.
ALTER TABLE stored_files ALTER COLUMN data SET STORAGE EXTERNAL;
