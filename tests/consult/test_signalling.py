"""Signalling frames: every well-formed message parses to its dataclass, every malformed one is a SignallingError
with a code and a readable message, and no input whatsoever raises anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consult.signalling import (
    MAX_FRAME_BYTES,
    OUTGOING,
    Candidate,
    Consent,
    Leave,
    Mute,
    Offer,
    Ping,
    SignallingError,
    dump,
    parse,
)

SDP = (
    "v=0\r\no=- 3916 3916 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"
)
CAND = "candidate:842163049 1 udp 1677729535 192.0.2.7 58481 typ srflx raddr 0.0.0.0 rport 0 generation 0"


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def error(raw: str | bytes) -> SignallingError:
    with pytest.raises(SignallingError) as info:
        parse(raw)
    err = info.value
    assert err.code and err.message.endswith(".")
    return err


def test_each_message_type_parses() -> None:
    assert parse(frame(type="offer", sdp=SDP)) == Offer(SDP)
    assert parse(frame(type="candidate", candidate=CAND, sdp_mid="0", sdp_mline_index=0)) == Candidate(CAND, "0", 0)
    assert parse(frame(type="candidate", candidate=CAND, sdp_mid=None, sdp_mline_index=1)) == Candidate(CAND, None, 1)
    assert parse(frame(type="consent", given=True)) == Consent(True)
    assert parse(frame(type="mute", audio=False, video=True)) == Mute(audio=False, video=True)
    assert parse(frame(type="leave")) == Leave()
    assert parse(frame(type="ping").encode()) == Ping()


def test_empty_candidate_is_end_of_candidates() -> None:
    message = parse(frame(type="candidate", candidate="", sdp_mid=None, sdp_mline_index=None))
    assert isinstance(message, Candidate) and message.end_of_candidates
    assert not Candidate(CAND, "0", 0).end_of_candidates


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        ("{not json", "not_json", "not valid JSON"),
        (b"\xff\xfe{}", "not_json", "UTF-8"),
        ('{"type": "mute", "audio": NaN, "video": true}', "not_json", "JSON"),
        ("[" * 5000 + "]" * 5000, "not_json", "JSON"),
        ('"ping"', "not_object", "JSON object"),
        ("[]", "not_object", "JSON object"),
        ("{}", "missing_field", '"type"'),
        ('{"type": 3}', "wrong_type", "string"),
        ('{"type": "hello"}', "unknown_type", '"hello" is not a message type'),
        ('{"type": "offer"}', "missing_field", '"sdp"'),
        ('{"type": "ping", "x": 1}', "unexpected_field", '"x"'),
        ('{"type": "consent", "given": 1}', "wrong_type", "true or false"),
        ('{"type": "mute", "audio": "yes", "video": true}', "wrong_type", '"audio"'),
        ('{"type": "offer", "sdp": 5}', "wrong_type", '"sdp" must be a string'),
        ('{"type": "candidate", "candidate": "", "sdp_mid": null, "sdp_mline_index": true}', "wrong_type", "integer"),
    ],
)
def test_malformed_frames(raw: str | bytes, code: str, words: str) -> None:
    err = error(raw)
    assert err.code == code
    assert words in err.message


def test_frame_size_limit() -> None:
    big = frame(type="offer", sdp="v=0\r\n" + "a=x\r\n" * (MAX_FRAME_BYTES // 5))
    assert error(big).code == "too_large"
    assert error(big.encode()).code == "too_large"
    assert "64 KiB" in error(big).message


@pytest.mark.parametrize(
    ("sdp", "words"),
    [
        ("", '"v=0"'),
        ("hello", '"v=0"'),
        ("v=1\r\nm=audio 9 RTP/AVP 0\r\n", '"v=0"'),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", "no media"),
        ("v=0\r\nm=audio 9 RTP/AVP 0\r\n\r\na=x\r\n", "Line 3"),
        ("v=0\r\nm=audio 9 RTP/AVP 0\r\nnot a line\r\n", "Line 3"),
        ("v=0\r\nm=audio 9 RTP/AVP 0\r\na=x\x00y\r\n", "Line 3"),
        ("v=0\r\nm=audio 9\tRTP/AVP 0\r\n", "Line 2"),
        ("v=0\r\nm=audio 9 RTP/AVP 0\r\n" + "a=" + "x" * 40_000 + "\r\n", "larger than 32 KiB"),
    ],
)
def test_implausible_sdp(sdp: str, words: str) -> None:
    err = error(frame(type="offer", sdp=sdp))
    assert err.code == "bad_sdp"
    assert words in err.message


@pytest.mark.parametrize(
    ("candidate", "mid", "index", "words"),
    [
        ("842163049 1 udp 1677729535 192.0.2.7 58481 typ host", "0", 0, 'start with "candidate:"'),
        ("candidate:1 1 udp 1 192.0.2.7 58481 typ", "0", 0, "this one has 7"),
        ("candidate:1 1 udp 1 192.0.2.7 58481 typ host raddr", "0", 0, "this one has 9"),
        ("candidate:1 x udp 1 192.0.2.7 58481 typ host", "0", 0, "component"),
        ("candidate:1 1 sctp 1 192.0.2.7 58481 typ host", "0", 0, "transport"),
        ("candidate:1 1 udp -5 192.0.2.7 58481 typ host", "0", 0, "priority"),
        ("candidate:1 1 udp 1 192.0.2.7;rm 58481 typ host", "0", 0, "address"),
        ("candidate:1 1 udp 1 192.0.2.7 70000 typ host", "0", 0, "port"),
        ("candidate:1 1 udp 1 192.0.2.7 58481 type host", "0", 0, '"typ"'),
        ("candidate:1 1 udp 1 192.0.2.7 58481 typ magic", "0", 0, "host, srflx"),
        ("candidate:1 1 udp 1 192.0.2.7 58481  typ host", "0", 0, "this one has 9"),
        ("candidate:1 1 udp 1 192.0.2.7 58481 typ host \u00e9 x", "0", 0, "printable ASCII"),
        (CAND, None, None, '"sdp_mid" or "sdp_mline_index"'),
        (CAND, "", 0, '"sdp_mid"'),
        (CAND, "0", 64, '"sdp_mline_index"'),
        (CAND, "0", -1, '"sdp_mline_index"'),
        ("candidate:" + "1" * 1100, "0", 0, "short line"),
    ],
)
def test_bad_candidates(candidate: str, mid: str | None, index: int | None, words: str) -> None:
    err = error(frame(type="candidate", candidate=candidate, sdp_mid=mid, sdp_mline_index=index))
    assert err.code == "bad_candidate"
    assert words in err.message


def test_client_text_is_echoed_only_as_a_short_printable_excerpt() -> None:
    err = error(frame(type="\x1b[31m" + "x" * 500))
    assert "\x1b" not in err.message and len(err.message) < 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
near_messages = st.fixed_dictionaries(
    {"type": st.sampled_from(["offer", "candidate", "consent", "mute", "leave", "ping", "pong", ""])},
    optional={
        "sdp": st.one_of(st.text(max_size=200), st.just(SDP), st.builds(lambda t: SDP + t, st.text(max_size=50))),
        "candidate": st.one_of(
            st.text(max_size=120),
            st.builds(lambda t: "candidate:" + t, st.text(max_size=120)),
            st.builds(lambda n: " ".join(CAND.split(" ")[:n]), st.integers(0, 14)),
        ),
        "sdp_mid": st.one_of(st.none(), st.text(max_size=8), st.integers()),
        "sdp_mline_index": st.one_of(st.none(), st.integers(-5, 100), st.booleans(), st.text(max_size=3)),
        "given": json_values,
        "audio": json_values,
        "video": json_values,
        "extra": json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300), json_values.map(json.dumps)))
def test_random_junk_only_ever_raises_signalling_error(raw: str | bytes) -> None:
    try:
        parse(raw)
    except SignallingError as err:
        assert err.code and err.message


@settings(max_examples=400, deadline=None)
@given(near_messages)
def test_near_miss_messages_only_ever_raise_signalling_error(message: dict[str, Any]) -> None:
    try:
        parsed = parse(json.dumps(message))
    except SignallingError as err:
        assert err.code and err.message
    else:
        assert type(parsed).__name__.lower() == message["type"]


def test_dump_checks_outgoing_messages_against_the_one_list() -> None:
    assert json.loads(dump("answer", sdp=SDP)) == {"type": "answer", "sdp": SDP}
    assert json.loads(dump("pong")) == {"type": "pong"}
    line = dump("transcript", id=3, speaker="patient", started_at=1, ended_at=2.5, text="Fever since Monday, 38°")
    assert "38°" in line
    assert json.loads(dump("quality", rtt_ms=None, loss=0.01, jitter_ms=4.2))["loss"] == 0.01
    err = SignallingError("bad_sdp", "Nope.")
    assert json.loads(dump("error", code=err.code, message=err.message))["code"] == "bad_sdp"
    with pytest.raises(ValueError, match="unknown outgoing"):
        dump("answr", sdp=SDP)
    with pytest.raises(TypeError, match="takes fields"):
        dump("answer")
    with pytest.raises(TypeError, match="must be true or false"):
        dump("mute", side="doctor", audio=1, video=True)
    assert {"answer", "error", "peer_joined", "peer_left", "consent", "transcript", "soap_draft", "quality"} <= set(
        OUTGOING
    )
