-- Staff sign-in hardening: a TOTP second factor (secret encrypted like PHI), replay protection by time step,
-- and lockout after repeated failures.
ALTER TABLE staff
    ADD COLUMN totp_secret_enc bytea,
    ADD COLUMN totp_enabled    boolean NOT NULL DEFAULT false,
    ADD COLUMN totp_last_step  bigint NOT NULL DEFAULT 0,
    ADD COLUMN failed_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until    timestamptz;
