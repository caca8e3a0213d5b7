"""The on-duty roster for critical values: during a shift its doctor is messaged first (at the phone on their
account) and the chain follows; outside every shift the chain's first person is. The doctor on duty sees and
acknowledges what they were sent. Shifts are checked (overlap, length, role, a phone to reach them) and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from core import critical, roster
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.hl7 import intake
from core.identity import Actor, Role
from core.labtime import LAB_TZ
from core.samples import service as samples
from core.samples.model import SampleState
from core.staff import service as staff
from core.vault import Vault
from tests.support.factories import SYSTEM, TECH, make_sample
from tests.support.inbox import Inbox

ADMIN = Actor("staff:roster-admin", Role.ADMIN)


async def _doctor(conn: asyncpg.Connection, vault: Vault, username: str, phone: str | None, role: Role = Role.DOCTOR
                  ) -> str:  # fmt: skip
    member = await staff.add(conn, username=username, display_name=f"Dr {username.title()}", role=role,
                             password="x" * 12, actor=SYSTEM)  # fmt: skip
    if phone:
        await staff.set_contact(conn, vault, username=username, phone=phone, actor=SYSTEM)
    return member.id


async def _critical(conn: asyncpg.Connection, vault: Vault, control: str) -> int:
    tube = await make_sample(conn, vault)
    await samples.transition(conn, barcode=tube.barcode, to_state=SampleState.RECEIVED_AT_LAB, actor=TECH,
                             centre_id="LAB-1")  # fmt: skip
    await intake.receive(conn, vault, (
        f"MSH|^~\\&|CHEM|LAB|LABPULSE|LAB|20261207||ORU^R01|{control}|P|2.5.1\rPID|1||M\r"
        f"OBR|1|{tube.barcode}||CBC\rOBX|1|NM|6690-2^WBC^LN||1.2|10*3/uL||||||F\r"
    ).encode())  # fmt: skip
    alert_id: int = await conn.fetchval("SELECT id FROM critical_alerts WHERE sample_id = $1", tube.id)
    return alert_id


async def test_the_doctor_on_duty_is_messaged_first_and_the_chain_follows(conn: asyncpg.Connection, vault: Vault
                                                                          ) -> None:  # fmt: skip
    first = await _doctor(conn, vault, "chainfirst", None)
    second = await _doctor(conn, vault, "chainsecond", None)
    await critical.set_chain(conn, vault, [critical.ChainMember(first, "Dr Chain", "+919800011111"),
                                           critical.ChainMember(second, "Dr Next", "+919800022222")])  # fmt: skip
    duty = await _doctor(conn, vault, "meera", "98000 55555")
    now = datetime.now(UTC)
    await roster.add_shift(conn, vault, username="meera", starts_at=now - timedelta(hours=1),
                           ends_at=now + timedelta(hours=1), now=now, actor=ADMIN)  # fmt: skip
    alert_id = await _critical(conn, vault, "R-1")
    inbox = Inbox()
    t0 = await conn.fetchval("SELECT created_at FROM critical_alerts WHERE id = $1", alert_id)
    for minutes in (0, 10):
        await critical.tick(conn, vault, {"sms": inbox}, t0 + timedelta(minutes=minutes))
    assert [to for to, _, _ in inbox.sent] == ["+919800055555", "+919800022222"]  # on duty, then the chain's second
    meera = Actor(f"staff:{duty}", Role.DOCTOR)
    assert [a["id"] for a in await critical.open_alerts(conn, meera)] == [alert_id]  # she was sent it: she sees it
    await critical.acknowledge(conn, alert_id, meera, t0 + timedelta(minutes=12), read_back="WBC 1.2 read back")

    later = await _critical(conn, vault, "R-2")  # after the shift: the chain's own first person
    after = now + timedelta(hours=2)
    await conn.execute("UPDATE critical_alerts SET next_step_at = $2 WHERE id = $1", later, after)
    await critical.tick(conn, vault, {"sms": inbox}, after)
    assert inbox.sent[-1][0] == "+919800011111"


async def test_a_shift_is_checked_before_it_is_kept(conn: asyncpg.Connection, vault: Vault) -> None:
    await _doctor(conn, vault, "asha", "98000 66666")
    await _doctor(conn, vault, "ravi", None, role=Role.PATHOLOGIST)
    await _doctor(conn, vault, "tech", "98000 77777", role=Role.LAB_TECHNICIAN)
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    day, night = roster.shift_times("2026-12-07", "08:00", "20:00"), roster.shift_times("2026-12-07", "20:00", "08:00")
    assert day == (datetime(2026, 12, 7, 8, tzinfo=LAB_TZ), datetime(2026, 12, 7, 20, tzinfo=LAB_TZ))
    assert night[1] == datetime(2026, 12, 8, 8, tzinfo=LAB_TZ)  # a night shift ends the next morning
    kept = await roster.add_shift(conn, vault, username="asha", starts_at=day[0], ends_at=day[1], now=now, actor=ADMIN)

    with pytest.raises(Conflict, match="overlaps Dr Asha's shift, 07 Dec 08:00–20:00"):
        await roster.add_shift(conn, vault, username="asha", starts_at=day[0] + timedelta(hours=11),
                               ends_at=night[1], now=now, actor=ADMIN)  # fmt: skip
    with pytest.raises(InvalidInput, match="no phone for critical values"):
        await roster.add_shift(conn, vault, username="ravi", starts_at=night[0], ends_at=night[1], now=now,
                               actor=ADMIN)  # fmt: skip
    for username, starts, ends in (("tech", *night), ("asha", night[0], night[0] + timedelta(hours=25)),
                                   ("asha", now - timedelta(hours=3), now - timedelta(hours=1)),
                                   ("nobody", *night)):  # fmt: skip
        with pytest.raises(InvalidInput):
            await roster.add_shift(conn, vault, username=username, starts_at=starts, ends_at=ends, now=now,
                                   actor=ADMIN)  # fmt: skip
    with pytest.raises(PermissionDenied):
        await roster.add_shift(conn, vault, username="asha", starts_at=night[0], ends_at=night[1], now=now,
                               actor=Actor("staff:t", Role.LAB_TECHNICIAN))  # fmt: skip
    await roster.add_shift(conn, vault, username="ravi", starts_at=night[0], ends_at=night[1], now=now, actor=ADMIN,
                           phone="98000 88888")  # the editor sets his phone as the shift is added  # fmt: skip
    assert [(s.name, s.starts_at) for s in await roster.shifts(conn, now)] == [("Dr Asha", day[0]),
                                                                            ("Dr Ravi", night[0])]  # fmt: skip
    await roster.remove_shift(conn, kept.id, actor=ADMIN)
    with pytest.raises(NotFound):
        await roster.remove_shift(conn, kept.id, actor=ADMIN)
    actions = await conn.fetch("SELECT action FROM audit_log WHERE entity_type = 'duty_roster' ORDER BY id")
    assert [a["action"] for a in actions] == ["roster.shift_added", "roster.shift_added", "roster.shift_removed"]
