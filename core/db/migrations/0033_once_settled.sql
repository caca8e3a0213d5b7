-- A claim may be taken before the work it guards is done (a WhatsApp message being answered): it is settled when
-- the work is done. A retry that finds the claim still unsettled knows the first delivery never finished (its
-- process died, or PostgreSQL went away before the claim could be let go) and says so, rather than pretend the
-- message was handled. Claims taken when the work is already done are settled from the start.
ALTER TABLE once_keys ADD COLUMN settled boolean NOT NULL DEFAULT true;
