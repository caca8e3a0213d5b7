"""Symptom triage: free text (English, Hindi, Hinglish) → urgency with the reasons, a specialty and first tests."""
