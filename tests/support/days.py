"""Days for tests that book: every slot of the first bookable day is open whatever the hour the suite runs at
(today's slots close an hour before they start, so a test that books "the first day" saw fewer times late in
the day)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from core.labtime import LAB_TZ


def first_full_day() -> date:
    return datetime.now(LAB_TZ).date() + timedelta(days=1)
