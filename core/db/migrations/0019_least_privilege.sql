-- The application may run as a role that owns nothing (LABPULSE_MIGRATION_DATABASE_URL names the owner): then it
-- cannot disable triggers or alter tables, and it may not write the audit chain's tables directly. The chain is
-- still appended at commit by this trigger function, which runs with its owner's rights (search_path pinned).
ALTER FUNCTION audit_chain_append() SECURITY DEFINER;
