"""Patients: identity and contact details, encrypted field by field."""
