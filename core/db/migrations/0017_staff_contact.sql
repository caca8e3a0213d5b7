-- How a staff member is reached (a doctor's teleconsult join links): an encrypted phone and its channel.
ALTER TABLE staff
    ADD COLUMN phone_enc bytea,
    ADD COLUMN notify_channel text NOT NULL DEFAULT 'sms' CHECK (notify_channel IN ('sms', 'whatsapp', 'telegram'));
