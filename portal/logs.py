"""Structured JSON logs through structlog. Log ids, events, outcomes and durations: never PHI or tokens."""

from __future__ import annotations

import logging
import sys

import structlog

from core import trace
from portal.masking import mask_phi


def _request_id(_: object, __: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """Every line written while a piece of work is under way names its request id (``core.trace``)."""
    if "request_id" not in event and (rid := trace.current()) is not None:
        event["request_id"] = rid
    return event


def configure_logging(level: str = "info") -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        _request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_phi,  # after the traceback is text, so it is masked too
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pgserver narrates every command it runs at INFO; keep only its warnings.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
