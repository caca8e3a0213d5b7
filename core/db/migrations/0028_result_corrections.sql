-- A result corrected by a pathologist, not by an analyzer's message: no message, and who corrected it.
ALTER TABLE results ALTER COLUMN message_id DROP NOT NULL;
ALTER TABLE results ADD COLUMN corrected_by text;
