"""Signed lab reports: content, Ed25519 signature, PDF rendering, public verification."""
