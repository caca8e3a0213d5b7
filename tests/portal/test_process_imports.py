"""The worker and the MLLP listener load only what they use: no web framework, no templates, no speech or NLP
model (the worker sends messages and renders PDFs; the listener stores HL7)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("starlette", "jinja2", "uvicorn", "spacy", "faster_whisper", "ctranslate2", "aiortc", "av", "onnxruntime")


@pytest.mark.parametrize("module", ["portal.worker", "portal.mllp", "portal.cli"])
def test_a_process_module_imports_nothing_it_does_not_use(module: str) -> None:
    probe = f"import sys, {module}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert loaded.stdout.split() == []
