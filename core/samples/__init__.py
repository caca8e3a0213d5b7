"""Samples: the state machine a specimen follows from collection to report."""
