"""Where is my report: nothing about a patient until this chat gives that patient's date of birth (three checks a
day per phone, across every channel), then one calm sentence per tube with the expected time."""

from __future__ import annotations

from datetime import date

from bots import intents
from bots.turn import Flow, Turn, when
from core import tracking
from core.patients import verify
from core.samples.model import SampleState

MAX_DOB_TRIES = 3


class ReportFlow(Flow):
    # --- where is my report ------------------------------------------------------------------------------

    async def _ask_dob(self, turn: Turn) -> list[str]:
        if turn.lookup is None or not await tracking.patient_ids(turn.conn, turn.lookup):
            return self._to_menu(turn, turn.say("no_phone_records"))[:1]
        if await self._sessions.dob_tries(turn.lookup) >= MAX_DOB_TRIES:
            return self._to_menu(turn, turn.say("dob_locked"))[:1]
        turn.session.state = "report_dob"
        return [turn.say("dob")]

    async def _report_dob(self, turn: Turn) -> list[str]:
        if turn.lookup is None:
            return self._to_menu(turn, turn.say("no_phone_records"))[:1]
        born = _parse_dob(turn.msg.text)
        if born is None:
            return [turn.say("dob_bad")]
        # Counted per phone across every channel, before checking: a flood of guesses gets three checks in all.
        tries = await self._sessions.count_dob_try(turn.lookup)
        if tries > MAX_DOB_TRIES:
            return self._to_menu(turn, turn.say("dob_locked"))[:1]
        found = await verify.by_date_of_birth(turn.conn, self._vault, turn.lookup, born, via=turn.msg.channel,
                                              meta=turn.meta)  # fmt: skip
        if not found:
            return (
                self._to_menu(turn, turn.say("dob_locked"))[:1] if tries >= MAX_DOB_TRIES else [turn.say("dob_wrong")]
            )
        await self._sessions.clear_dob_tries(turn.lookup)
        turn.session.verified = sorted({*turn.session.verified, *(f.id for f in found)})
        if len(found) > 1:
            turn.session.data = {"people": [f.id for f in found]}
            turn.session.state = "report_pick"
            return [turn.say("which_person", lines="\n".join(f"{i} {f.first_name}" for i, f in enumerate(found, 1)))]
        return await self._status(turn, found[0].id)

    async def _report_pick(self, turn: Turn) -> list[str]:
        people = turn.session.data.get("people", [])
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(people):
            return [turn.say("which_person", lines="\n".join(f"{i}" for i in range(1, len(people) + 1)))]
        return await self._status(turn, people[choice[0] - 1])

    async def _status(self, turn: Turn, patient_id: str) -> list[str]:
        if turn.lookup is None:
            return self._to_menu(turn, turn.say("no_phone_records"))[:1]
        if patient_id not in turn.session.verified:  # never without this chat's date-of-birth check
            return await self._ask_dob(turn)
        snap = await tracking.snapshot(turn.conn, turn.lookup, patient_id, meta=turn.meta)
        turn.session.state, turn.session.data = "menu", {}
        if not snap.samples:
            return [turn.say("no_tests")]
        lines = []
        for s in snap.samples[:5]:
            tests = ", ".join(s.named(turn.lang, name) for name in s.tests) or s.sample_type
            line = turn.say(f"status_{s.state.value}", tests=tests, centre=s.named(turn.lang, s.centre))
            waiting = s.state in (SampleState.COLLECTED, SampleState.IN_TRANSIT, SampleState.RECEIVED_AT_LAB,
                                  SampleState.PROCESSING)  # fmt: skip
            if waiting and s.expected_ready_at and s.expected_ready_at > turn.now:
                line += turn.say("eta", when=when(s.expected_ready_at, turn.lang))
            if s.call_expected:
                line += turn.say("call")
            lines.append(line)
        return ["\n".join(lines)]


def _parse_dob(text: str) -> date | None:
    digits = intents.normalize(text).replace("/", "-").replace(".", "-").replace(" ", "-")
    parts = [p for p in digits.split("-") if p]
    if len(parts) != 3 or not all(p.isascii() and p.isdecimal() and len(p) <= 4 for p in parts):
        return None
    d, m, y = (int(p) for p in parts)
    if y < 1900:
        return None
    try:
        return date(y, m, d)
    except (ValueError, OverflowError):
        return None
