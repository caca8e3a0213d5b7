-- What the person who acknowledged a critical value read back and will do (sealed: it may name the patient).
ALTER TABLE critical_alerts ADD COLUMN read_back_enc bytea;
