"""The log masking processor on its own: what it hides and what it must leave readable."""

from __future__ import annotations

import pytest

from portal.masking import mask_phi, mask_text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("sms to +919800000001 failed", "sms to [phone] failed"),
        ("called 98000 00001 twice", "called [phone] twice"),
        ("code 482913 sent", "code [code] sent"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer[token]"),
        ("cookie lp_session=Zq3x9_longvalue; other", "cookie lp_session=[token] other"),
        ("token Zq3x9Kp2LmN8vB4cX7yT1wRe5uI0oPaS seen", "token [token] seen"),
    ],
)
def test_sensitive_text_is_masked(raw: str, masked: str) -> None:
    assert mask_text(raw) == masked


@pytest.mark.parametrize(
    "kept",
    [
        "request 4f9c2a1b8e7d4c3b9a0f1e2d3c4b5a69 done",  # our hex request ids
        "patient 96a71de4-30c1-4fb4-82bc-375db225c61e read",  # uuids
        "collected on 2026-11-21 at 10:30",  # dates and times
        "listening on 127.0.0.1:8000",
        "batch of 500 events in 12 ms",
    ],
)
def test_ids_dates_and_figures_stay_readable(kept: str) -> None:
    assert mask_text(kept) == kept


def test_values_under_sensitive_keys_are_redacted_at_any_depth() -> None:
    event = {
        "event": "patient created",
        "timestamp": "2026-11-21T10:00:00.123456Z",
        "name": "Asha Verma",
        "extra": {"phone": "+919800000001", "address": "12 MG Road", "mrn": "LP0000001"},
        "items": ["+919800000002"],
    }
    out = mask_phi(None, "info", dict(event))
    assert out["name"] == "[redacted]" and out["timestamp"] == event["timestamp"]
    assert out["extra"] == {"phone": "[redacted]", "address": "[redacted]", "mrn": "LP0000001"}
    assert out["items"] == ["[phone]"]
