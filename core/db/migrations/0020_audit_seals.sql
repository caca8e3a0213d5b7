-- Every audit row written from now on carries a seal: an HMAC, under a key that never reaches the database, of a
-- random nonce and the row's content. Whoever holds only the database's credentials (even the owner's) cannot write
-- a row that `audit verify` accepts, nor copy one (the nonce is unique). Rows written before this migration are
-- covered by the hash chain alone: audit_seal_start says where sealing begins.
ALTER TABLE audit_log ADD COLUMN seal_nonce uuid, ADD COLUMN seal bytea;
CREATE UNIQUE INDEX audit_log_seal_nonce ON audit_log (seal_nonce);
CREATE TABLE audit_seal_start (first_id bigint NOT NULL);
INSERT INTO audit_seal_start (first_id) SELECT coalesce(max(id), 0) + 1 FROM audit_log;
