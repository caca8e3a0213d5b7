#!/bin/sh
# First start of the reference deployment's PostgreSQL: the role the processes run as. It owns nothing (migrations
# run as the owner and grant it what it needs), so it cannot disable the triggers that keep the audit log and
# signed notes unchanged (docs/security.md).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE labpulse_app LOGIN PASSWORD '${APP_DB_PASSWORD}';
GRANT CONNECT ON DATABASE ${POSTGRES_DB} TO labpulse_app;
SQL
