"""Persistence plumbing: connection pool and migrations."""
