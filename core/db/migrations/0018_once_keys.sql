-- What must happen once, recorded durably (Redis is only a cache in front): an inbound message id (Twilio
-- MessageSid, Telegram update_id), a magic link's id, a used sign-in code. A row is claimed by inserting it; an
-- expired row may be claimed again; the worker's sweep deletes expired rows.
CREATE TABLE once_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX once_keys_expiry ON once_keys (expires_at);
