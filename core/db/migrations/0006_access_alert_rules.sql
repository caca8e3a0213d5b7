-- Alert rules read a staff member's recent audit rows; shifts say when their access is expected.
CREATE INDEX audit_log_actor_time ON audit_log (actor_id, at);
ALTER TABLE staff ADD COLUMN shift_start time, ADD COLUMN shift_end time;  -- lab local time; NULL: no shift set
