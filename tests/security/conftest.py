"""Regression tests for what an attack on a running instance got through (issue 16), each against a real
server. The realtime tests' running-server fixture is shared here."""

from tests.realtime.conftest import live  # noqa: F401 - re-exported as a fixture
