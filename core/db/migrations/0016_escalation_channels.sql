-- Each person in the escalation chain is reached on their own channel (SMS, WhatsApp or a linked Telegram chat).
ALTER TABLE escalation_chain
    ADD COLUMN channel text NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'whatsapp', 'telegram'));
