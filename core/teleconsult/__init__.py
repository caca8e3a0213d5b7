"""Teleconsults in the back office: doctors' slots and bookings, join links, consent, the transcript and the
signed note. No transport here: the aiortc relay and the pages live in consult/ and portal/."""
