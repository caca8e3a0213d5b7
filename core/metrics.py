"""Every Prometheus metric the product keeps (issue 20), in one place, and the text ``/metrics`` answers.

No metric names a person, and every label takes a value from a small set the code fixes (states, job names,
channels, route templates, HL7 message types clamped to the ones we read); nothing a sender or a patient types
becomes a label. Processes that share a port through several uvicorn workers set ``PROMETHEUS_MULTIPROC_DIR``:
the client then keeps values in files there and ``exposition`` adds them up across the workers.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

SOCKETS_OPEN = Gauge("labpulse_ws_open", "WebSockets open now", ["socket"], multiprocess_mode="livesum")
EVENTS_PUBLISHED = Counter("labpulse_events_published_total", "Outbox events published to the bus", ["type"])
EVENTS_DELIVERED = Counter("labpulse_events_delivered_total", "Event frames sent to sockets", ["socket"])
RELAY_LAG = Histogram("labpulse_relay_lag_seconds", "From an event's commit to its publication", buckets=_FAST)
TRANSITIONS = Counter("labpulse_transitions_total", "Tube state changes saved", ["to_state"])
HL7_MESSAGES = Counter("labpulse_hl7_messages_total", "HL7 messages received, by type and answer", ["type", "ack"])
JOB_QUEUE = Gauge("labpulse_job_queue_depth", "Jobs by entry point and status", ["job", "status"],
                  multiprocess_mode="max")  # fmt: skip
JOBS = Counter("labpulse_jobs_total", "Jobs run, by outcome (done, retry, dead)", ["job", "outcome"])
DEAD_LETTERS = Gauge("labpulse_dead_letters", "Jobs that gave up and wait for a person", multiprocess_mode="max")
WEBHOOK_SECONDS = Histogram("labpulse_webhook_seconds", "Time to answer a messaging provider's webhook",
                            ["provider"], buckets=_FAST)  # fmt: skip
NOTICES = Counter("labpulse_notices_total", "Messages sent to people, by channel, purpose and outcome",
                  ["channel", "purpose", "outcome"])  # fmt: skip
TRANSCRIPTION_RTF = Histogram("labpulse_transcription_rtf", "Seconds spent transcribing one second of speech",
                              buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0))  # fmt: skip
TRIAGE = Counter("labpulse_triage_total", "Symptom checks, by the level they reached", ["level"])
CRITICAL_OPEN = Gauge("labpulse_critical_open", "Critical values not yet acknowledged", multiprocess_mode="max")
CRITICAL_PAST_CHAIN = Gauge("labpulse_critical_past_chain", "Unacknowledged critical values whose whole escalation "
                            "chain has been messaged", multiprocess_mode="max")  # fmt: skip
CRITICAL_OLDEST = Gauge("labpulse_critical_oldest_seconds", "Age of the oldest unacknowledged critical value",
                        multiprocess_mode="max")  # fmt: skip
EVENT_LOOP_LAG = Histogram("labpulse_event_loop_lag_seconds", "How late the event loop woke from a 100 ms sleep: "
                           "how long something held it (a CPU-bound job, a blocking call)", buckets=_FAST)  # fmt: skip
GC_PAUSE = Histogram("labpulse_gc_pause_seconds", "Python's cyclic garbage collector: each collection's pause, by "
                     "generation (a full one over many long-lived objects holds the event loop)", ["generation"],
                     buckets=_FAST)  # fmt: skip
GC_FROZEN = Gauge("labpulse_gc_frozen_objects", "Objects frozen out of the collector's sight: the process's long-lived "
                  "heap (modules, open sockets), thawed and collected once an hour",
                  multiprocess_mode="livesum")  # fmt: skip
RELAY_BATCH = Histogram("labpulse_relay_batch_seconds", "One relay batch, by phase: read (take the lock and the "
                        "rows), publish (to Redis), mark (published_at and commit)", ["phase"],
                        buckets=_FAST)  # fmt: skip
HTTP_SECONDS = Histogram("labpulse_http_request_seconds", "HTTP requests, by route template, method and status class",
                         ["route", "method", "status"], buckets=_FAST)  # fmt: skip

HL7_TYPES = frozenset({"ADT", "ORM", "OML", "ORU", "ACK", "QRY"})
ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})


def hl7_type(message_type: str) -> str:
    """A sender's MSH-9.1 as a label: one of the types we read, else 'other' (a label never grows with input)."""
    return message_type if message_type in HL7_TYPES else "other"


def ack_code(code: str) -> str:
    return code if code in ACK_CODES else "other"


def exposition() -> tuple[bytes, str]:
    """The text ``/metrics`` answers: this process's registry, or every worker's when they share a directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
