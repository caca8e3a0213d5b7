-- Staff who sign in through the organisation's identity provider (OpenID Connect): issuer + subject.
ALTER TABLE staff ADD COLUMN external_id text UNIQUE;
