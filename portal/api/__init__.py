"""JSON API route modules."""
