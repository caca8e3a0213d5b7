"""A day in the life of the lab, played against the drill's stack while faults are injected: the LIS registers a
patient and orders a tube over MLLP, the patient signs in with a code sent by SMS and watches the tube on the
status socket, staff scan it at the centre and at the lab, the analyzer sends its results, the pathologist releases
the report, the worker renders it and tells the patient by SMS; some patients ask for their status and book a home
visit on WhatsApp. Every client behaves as the real one does when a fault hits it: the LIS and the analyzer resend
the same message until it is acknowledged, staff scan again and look at the tube, Twilio retries its webhook with
the same MessageSid, the patient's page reconnects and resumes from the last event it saw (in the socket's address,
as static/status.js does). What each client was
told is kept, so the drill can check afterwards that nothing acknowledged was lost and nothing happened twice."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from hl7.mllp import open_hl7_connection
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from core.labtime import LAB_TZ
from portal.drill.stack import PUBLIC_URL
from portal.drill.standins import ACCOUNT_SID, AUTH_TOKEN, Providers

RETRYABLE = {429, 500, 502, 503, 504}
TRANSPORT = (httpx.TransportError, OSError, asyncio.TimeoutError)


class GaveUp(Exception):
    """A client tried for as long as a person would, and it still did not work."""


@dataclass
class Seen:
    """What the clients were told, and what they did about it."""

    operations: Counter[str] = field(default_factory=Counter)  # acknowledged, by kind
    retries: Counter[str] = field(default_factory=Counter)  # tries again after a fault, by kind
    gave_up: list[str] = field(default_factory=list)
    chat_unanswered: list[str] = field(default_factory=list)  # MessageSids whose final answer was empty
    booked: dict[str, str] = field(default_factory=dict)  # phone -> booking reference the patient was given


@dataclass
class Visit:
    n: int
    mrn: str
    phone: str
    barcode: str
    source_ip: str  # the patient's own address, so per-address limits see many people, not one proxy
    patient_id: str | None = None
    events: list[int] = field(default_factory=list)  # event ids the patient's socket received, in order
    reconnects: int = 0
    report_released: bool = False
    chat: bool = False


def visit(n: int) -> Visit:
    return Visit(n, f"DR{n:05d}", f"+9197{n:08d}", f"DRL{n:05d}", f"127.0.{1 + n // 250}.{1 + n % 250}")


class Lab:
    """The clients of one drill, sharing what they saw."""

    def __init__(self, front: str, mllp_port: int, standin: Providers, staff: dict[str, tuple[str, str]],
                 analytes: list[tuple[str, str, str, float, float]], give_up_after: float = 180) -> None:  # fmt: skip
        self.front, self.mllp_port, self.standin = front, mllp_port, standin
        self.staff = staff  # role -> (username, password)
        self.analytes = analytes
        self.seen = Seen()
        self.patience = give_up_after
        self._tokens: dict[str, str] = {}
        self._http = httpx.AsyncClient(base_url=f"http://{front}", timeout=15)
        self._sids = itertools.count(1)

    async def close(self) -> None:
        await self._http.aclose()

    # --- HTTP, as staff ------------------------------------------------------------------------------------

    async def _staff_token(self, role: str, *, fresh: bool = False) -> str:
        if fresh or role not in self._tokens:
            username, password = self.staff[role]
            r = await self._request("staff-signin", "POST", "/api/staff/session",
                                    json={"username": username, "password": password})  # fmt: skip
            self._tokens[role] = r.json()["token"]
        return self._tokens[role]

    async def _request(self, kind: str, method: str, path: str, **kw: object) -> httpx.Response:
        """Tried again, after a pause, while the answer is a fault (no connection, 5xx, 429); other answers are
        returned as they are."""
        deadline = time.monotonic() + self.patience
        while True:
            try:
                r = await self._http.request(method, path, **kw)  # type: ignore[arg-type]
                if r.status_code not in RETRYABLE:
                    return r
            except TRANSPORT:
                pass
            self.seen.retries[kind] += 1
            if time.monotonic() > deadline:
                raise GaveUp(f"{kind} {path}")
            await asyncio.sleep(1)

    async def _as_staff(self, kind: str, role: str, method: str, path: str, **kw: object) -> httpx.Response:
        token = await self._staff_token(role)
        r = await self._request(kind, method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
        if r.status_code == 401:  # Redis lost the session: sign in again, as a person would
            token = await self._staff_token(role, fresh=True)
            r = await self._request(kind, method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
        return r

    async def state_of(self, barcode: str) -> str | None:
        r = await self._as_staff("read", "lab_technician", "GET", f"/api/staff/samples/{barcode}")
        return str(r.json()["sample"]["state"]) if r.status_code == 200 else None

    async def scan(self, v: Visit, to: str, role: str, centre: str) -> None:
        """A scan; if the answer is a refusal, the person looks at the tube: already there is done (their first
        scan went through before the fault took its answer)."""
        r = await self._as_staff("scan", role, "POST", "/api/staff/scan",
                                 json={"barcode": v.barcode, "to": to, "centre_id": centre})  # fmt: skip
        if r.status_code != 200 and await self.state_of(v.barcode) != to:
            raise GaveUp(f"scan {v.barcode} to {to}: {r.status_code} {r.text[:200]}")
        self.seen.operations["scan"] += 1

    async def wait_state(self, v: Visit, state: str) -> None:
        deadline = time.monotonic() + self.patience
        while await self.state_of(v.barcode) != state:
            if time.monotonic() > deadline:
                raise GaveUp(f"{v.barcode} never reached {state}")
            await asyncio.sleep(1)

    async def release(self, v: Visit) -> None:
        r = await self._as_staff("report", "pathologist", "POST", f"/api/staff/samples/{v.barcode}/report")
        # Refused as "approved a moment ago" or "is out": an earlier try went through.
        if r.status_code != 201 and not (r.status_code == 409 and await self.state_of(v.barcode) == "reported"):
            if r.status_code != 409 or "moment ago" not in r.text:
                raise GaveUp(f"report {v.barcode}: {r.status_code} {r.text[:200]}")
        v.report_released = True
        self.seen.operations["report"] += 1

    # --- MLLP, as the LIS and the analyzer ----------------------------------------------------------------

    async def hl7(self, kind: str, message: str) -> None:
        """Sent until acknowledged with AA: the same message, the same control id, as senders do."""
        deadline = time.monotonic() + self.patience
        while True:
            ack = ""
            try:
                reader, writer = await asyncio.wait_for(open_hl7_connection("127.0.0.1", self.mllp_port), 5)
                try:
                    writer.writemessage(message)
                    await writer.drain()
                    ack = str(await asyncio.wait_for(reader.readmessage(), 15))
                finally:
                    writer.close()
            except Exception:  # noqa: BLE001 - no connection, no answer, or half a frame from a killed listener
                ack = ""  # all the same to a sender: send it again
            code = re.search(r"MSA\|(\w\w)", ack)
            if code and code.group(1) == "AA":
                self.seen.operations[kind] += 1
                return
            if code and code.group(1) in ("AE", "AR") and "|207^" not in ack:  # refused for what it says
                raise GaveUp(f"{kind} refused: {ack[:300]}")
            # No answer, or "could not store it now" (ERR 207, application internal error): send it again.
            self.seen.retries[kind] += 1
            if time.monotonic() > deadline:
                raise GaveUp(f"{kind} never acknowledged")
            await asyncio.sleep(1)

    async def register_and_order(self, v: Visit) -> None:
        stamp = datetime.now(LAB_TZ).strftime("%Y%m%d%H%M%S")
        msh = f"MSH|^~\\&|DRILL-LIS|LAB-MAIN|LABPULSE|LAB|{stamp}||"
        number = v.phone.removeprefix("+91")
        await self.hl7("hl7-adt", f"{msh}ADT^A04^ADT_A01|ADT-{v.n}|P|2.5.1\rEVN|A04|{stamp}\r"
                                  f"PID|1||{v.mrn}^^^DRILL^MR||Drill^Patient{v.n}||19800101|F|||||"
                                  f"^PRN^CP^^91^{number[:2]}^{number[2:]}\rPV1|1|O|CC-BANDRA\r")  # fmt: skip
        await self.hl7("hl7-orm", f"{msh}ORM^O01|ORM-{v.n}|P|2.3\rPID|1||{v.mrn}^^^DRILL^MR||Drill^Patient{v.n}\r"
                                  f"PV1|1|O|CC-BANDRA\rORC|NW|DORD-{v.n}||DREQ-{v.n}\r"
                                  f"OBR|1|DORD-{v.n}|{v.barcode}|CBC^Complete blood count^L|||{stamp}\r")  # fmt: skip

    async def results(self, v: Visit) -> None:
        stamp = datetime.now(LAB_TZ).strftime("%Y%m%d%H%M%S")
        lines = [f"MSH|^~\\&|DRILL-ANALYZER|LAB-MAIN|LABPULSE|LAB-MAIN|{stamp}||ORU^R01|ORU-{v.n}|P|2.5.1",
                 f"PID|1||{v.mrn}", f"OBR|1|{v.barcode}||CBC"]  # fmt: skip
        for i, (code, name, unit, low, high) in enumerate(self.analytes, 1):
            lines.append(f"OBX|{i}|NM|{code}^{name}^LN||{(low + high) / 2:.1f}|{unit}|||||F")
        await self.hl7("hl7-oru", "\r".join(lines) + "\r")

    # --- the patient ----------------------------------------------------------------------------------------

    async def sign_in(self, v: Visit) -> str:
        """A code by SMS (through the Twilio stand-in), then the session cookie; tried again while faults last."""
        deadline = time.monotonic() + self.patience
        own_address = httpx.AsyncHTTPTransport(local_address=v.source_ip)
        async with httpx.AsyncClient(base_url=f"http://{self.front}", timeout=15, transport=own_address) as http:
            while time.monotonic() < deadline:
                asked = len(self.standin.seen.twilio)
                try:
                    r = await http.post("/api/patient/code", json={"phone": v.phone})
                    if r.status_code == 202:
                        code = await self._code_for(v.phone, asked)
                        if code:
                            r = await http.post("/api/patient/session", json={"phone": v.phone, "code": code})
                            if r.status_code == 200 and (token := r.json().get("token")):
                                self.seen.operations["sign-in"] += 1
                                return str(token)
                except TRANSPORT:
                    pass
                self.seen.retries["sign-in"] += 1
                await asyncio.sleep(2)
        raise GaveUp(f"sign-in for visit {v.n}")

    async def _code_for(self, phone: str, after: int) -> str | None:
        for _ in range(120):  # 30 s: a code held up by a provider fault is sent again by the worker
            for m in self.standin.seen.twilio[after:]:
                if m.get("To") == phone and (found := re.search(r"\b(\d{6})\b", m.get("Body", ""))):
                    return found.group(1)
            await asyncio.sleep(0.25)
        return None

    async def watch(self, v: Visit, token: str, until: asyncio.Event) -> None:
        """The patient's page: the socket open until ``until``; on any close it reconnects (signing in again if
        the session is gone) and resumes after the last event it saw."""
        while not until.is_set():
            try:
                # As the page does (static/status.js): the last event seen goes in the address, so the server
                # queues the replay before anything live.
                resume = f"?last_event_id={v.events[-1]}" if v.events else ""
                async with connect(f"ws://{self.front}/ws/status{resume}", origin=f"http://{self.front}",  # type: ignore[arg-type]
                                   additional_headers={"Cookie": f"lp_session={token}"}, open_timeout=10,
                                   local_addr=(v.source_ip, 0)) as ws:  # fmt: skip
                    first = json.loads(await ws.recv())
                    if first.get("type") == "snapshot" and not v.events:
                        v.events.extend(self._snapshot_events(first))
                    await self._read(ws, v, until)
            except WebSocketException as exc:
                v.reconnects += 1
                if "4401" in str(exc) or "401" in str(exc):
                    token = await self.sign_in(v)
            except TRANSPORT:
                v.reconnects += 1
            if not until.is_set():
                await asyncio.sleep(0.5)

    @staticmethod
    def _snapshot_events(frame: dict[str, object]) -> list[int]:
        last = frame.get("last_event_id")
        return [int(last)] if isinstance(last, int) and last > 0 else []

    async def _read(self, ws: ClientConnection, v: Visit, until: asyncio.Event) -> None:
        while not until.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            except TimeoutError:
                await ws.send(json.dumps({"type": "ping"}))
                continue
            if frame.get("type") == "event":
                v.events.append(int(frame["last_event_id"]))
            elif frame.get("type") == "session_expired":
                raise WebSocketException("4401 session expired")

    # --- WhatsApp, as Twilio delivers it -------------------------------------------------------------------

    async def say(self, v: Visit, body: str) -> list[str]:
        """One WhatsApp message; asked to send it again (its first delivery never finished), the person does."""
        for _ in range(5):
            texts = await self._say_once(v, body)
            if not any("Please send it again" in t for t in texts):
                return texts
            self.seen.retries["chat"] += 1
        raise GaveUp(f"chat for visit {v.n}: asked again and again to send a message again")

    async def _say_once(self, v: Visit, body: str) -> list[str]:
        """One WhatsApp message through the webhook, signed, retried with the same MessageSid on a fault."""
        params = {"MessageSid": f"SMDRILL{v.n:06d}{next(self._sids):020d}", "AccountSid": ACCOUNT_SID,
                  "From": f"whatsapp:{v.phone}", "To": "whatsapp:+14155238886", "Body": body,
                  "NumMedia": "0"}  # fmt: skip
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}/bots/twilio", params)
        r = await self._request("chat", "POST", "/bots/twilio", data=params, headers={"X-Twilio-Signature": signature})
        if r.status_code != 200:
            raise GaveUp(f"chat answered {r.status_code}")
        texts = [m.findtext("Body") or m.text or "" for m in ET.fromstring(r.text).iter("Message")]  # noqa: S314
        if not texts:
            self.seen.chat_unanswered.append(params["MessageSid"])
        self.seen.operations["chat"] += 1
        return texts

    async def book(self, v: Visit) -> None:
        """A home collection booked on WhatsApp: the conversation begins again when an answer is not the one
        expected (Redis lost the conversation, or a reply was lost)."""
        steps = (("hi", "Book"), ("1", "Basic"), ("1", "At home"), ("1", "pincode"), ("400050", "We visit"),
                 ("Flat 4, Sea View, Hill Road", "Which day"), ("1", ""), ("1", "Reply YES"))  # fmt: skip
        for _ in range(10):
            if await self._find_booking(v):
                return
            if await self._converse(v, steps) and await self._confirm(v):
                return
        raise GaveUp(f"booking for visit {v.n}")

    async def _converse(self, v: Visit, steps: tuple[tuple[str, str], ...]) -> bool:
        for body, expect in steps:
            replies = await self.say(v, body)
            if expect and not any(expect in r for r in replies):
                return False
        return True

    async def _confirm(self, v: Visit) -> bool:
        replies = await self.say(v, "yes")
        for r in replies:
            if found := re.search(r"booking number is (B[\w-]+)", r):
                v_ref = found.group(1)
                self.seen.booked[v.phone] = v_ref
                self.seen.operations["booking"] += 1
                return True
        return await self._find_booking(v)  # the answer was lost: did it go through?

    async def _find_booking(self, v: Visit) -> bool:
        for r in await self.say(v, "my bookings"):
            if found := re.search(r"\b(B[A-Z0-9]{4,})\b", r):
                if v.phone not in self.seen.booked:
                    self.seen.operations["booking"] += 1
                self.seen.booked[v.phone] = found.group(1)
                return True
        return False
