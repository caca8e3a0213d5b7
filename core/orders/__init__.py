"""Orders: which tests a patient is having done, and where."""
