"""Booking a sample collection: at home (served pincodes) or at a centre, in a time slot with capacity."""
