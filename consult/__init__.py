"""Teleconsult rooms, media relay, transcription and SOAP drafting (issue: teleconsults)."""
