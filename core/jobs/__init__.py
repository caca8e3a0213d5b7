"""Background jobs on PostgreSQL (PgQueuer): enqueued inside the transaction that makes them necessary."""
