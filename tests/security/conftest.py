"""Regression tests for what an attack on a running instance got through (issue 16). Fixtures of the suites they
extend are shared here."""

from tests.bots.test_telegram import stand_in, tg, tg_settings  # noqa: F401 - re-exported as fixtures
from tests.bots.test_twilio_conversations import bot_settings, lab, wa  # noqa: F401 - re-exported as fixtures
from tests.portal.conftest import client, staff_token  # noqa: F401 - re-exported as fixtures
from tests.portal.test_patient_signin import inbox, pc  # noqa: F401 - re-exported as fixtures
from tests.realtime.conftest import live  # noqa: F401 - re-exported as a fixture
