"""WebSocket hub: live sample status for patients (issue: live status)."""
