"""The one table that says which role may do what. Adapters ask ``allowed``/``require``; they never decide."""

from __future__ import annotations

from core.errors import PermissionDenied
from core.identity import Role
from core.samples.model import SampleState

_LAB = frozenset({Role.LAB_TECHNICIAN, Role.PATHOLOGIST, Role.ADMIN})

# Which roles may move a sample INTO each state. A phlebotomist collects and dispatches; the lab receives,
# processes, completes and rejects; only a pathologist releases the report.
TRANSITION_ROLES: dict[SampleState, frozenset[Role]] = {
    SampleState.COLLECTED: frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.ADMIN}),
    SampleState.IN_TRANSIT: frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.ADMIN}),
    SampleState.RECEIVED_AT_LAB: _LAB,
    # The analyzer (through HL7 intake) also moves a tube on once all its results are in.
    SampleState.PROCESSING: _LAB | {Role.SYSTEM},
    SampleState.COMPLETED: _LAB | {Role.SYSTEM},
    SampleState.REPORTED: frozenset({Role.PATHOLOGIST, Role.ADMIN}),
    SampleState.REJECTED: _LAB | {Role.PHLEBOTOMIST},
    SampleState.RECOLLECTION_REQUESTED: _LAB | {Role.SUPPORT},
}

PUBLIC = "public"  # anyone, signed in or not (sign-in forms, health, static files)
PATIENT_SELF = "patient.self"  # a signed-in patient; which patients they may see is checked per read
STAFF = frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.PATHOLOGIST, Role.DOCTOR, Role.SUPPORT, Role.ADMIN})

ACTIONS: dict[str, frozenset[Role]] = {
    PATIENT_SELF: frozenset({Role.PATIENT}),
    "staff.self": STAFF,  # things any staff member does to their own account
    "patient.read": STAFF,  # and then core.access decides per patient (a doctor: referrals or break-glass)
    "patient.break_glass": frozenset({Role.DOCTOR}),
    "admin.alerts": frozenset({Role.ADMIN}),
    "admin.jobs": frozenset({Role.ADMIN}),
    "admin.escalation": frozenset({Role.ADMIN}),  # who is called about critical values, in order
    "critical.acknowledge": frozenset({Role.DOCTOR, Role.PATHOLOGIST, Role.ADMIN}),
    "report.issue": frozenset({Role.PATHOLOGIST, Role.ADMIN}),
    "admin.audit": frozenset({Role.ADMIN}),
    "admin.staff": frozenset({Role.ADMIN}),  # staff accounts: add, role, centre, switched off
    "admin.lab": frozenset({Role.ADMIN}),  # test prices and turnaround targets, reference ranges, delta limits
    "admin.patients": frozenset({Role.ADMIN}),  # undo a merge; doctors and where results go out to
    "sample.scan": frozenset().union(*TRANSITION_ROLES.values()),
    "sample.read": frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.PATHOLOGIST, Role.SUPPORT, Role.ADMIN}),
    # the LIS too (Role.SYSTEM, over HL7): an order whose specimen it reports collected brings its tube
    "sample.register": frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.ADMIN, Role.SYSTEM}),
    "scan.review": frozenset({Role.LAB_TECHNICIAN, Role.PATHOLOGIST, Role.ADMIN}),
    # the collection centre: register a walk-in, find them, order, give tubes barcodes and print labels
    "collection.desk": frozenset({Role.PHLEBOTOMIST, Role.LAB_TECHNICIAN, Role.SUPPORT, Role.ADMIN}),
}


# Every HTTP and WebSocket endpoint, by route name, and the action it needs. A route without an entry here is
# refused (and fails the endpoint × role test), so no endpoint can be added without deciding who may use it.
ENDPOINTS: dict[str, str] = {
    "health": PUBLIC,
    "ready": PUBLIC,
    "metrics": PUBLIC,  # loop health and counters only: no PHI, no identifiers
    "openapi": PUBLIC,
    "static": PUBLIC,
    "staff.session.create": PUBLIC,
    "staff.session.delete": PUBLIC,  # signing out needs no right; it only ends the caller's own session
    "staff.oidc.login": PUBLIC,
    "staff.oidc.callback": PUBLIC,
    "staff.me": "staff.self",
    "staff.totp.begin": "staff.self",
    "staff.totp.confirm": "staff.self",
    "staff.scan": "sample.scan",
    "staff.samples.register": "sample.register",
    "staff.samples.read": "sample.read",
    "staff.unknown_scans": "scan.review",
    "staff.patient": "patient.read",
    "staff.hl7.review": "scan.review",
    "staff.critical": "critical.acknowledge",
    "staff.report.issue": "report.issue",
    "page.verify": PUBLIC,
    "staff.critical.ack": "critical.acknowledge",
    "staff.hl7.reapply": "scan.review",
    "staff.hl7.reviewed": "scan.review",
    "staff.patients.register": "collection.desk",
    "staff.patients.find": "collection.desk",
    "staff.orders.place": "collection.desk",
    "staff.orders.tubes": "sample.register",
    "staff.orders.labels": "collection.desk",
    "staff.bookings.collect": "sample.register",
    "admin.merge.undo": "admin.patients",
    "admin.hl7.destinations": "admin.patients",
    "admin.hl7.destination.set": "admin.patients",
    "admin.doctors": "admin.patients",
    "admin.doctors.update": "admin.patients",
    "staff.break_glass": "patient.break_glass",
    "admin.alerts": "admin.alerts",
    "admin.dead_letters": "admin.jobs",
    "admin.dead_letters.requeue": "admin.jobs",
    "admin.escalation": "admin.escalation",
    "admin.escalation.set": "admin.escalation",
    "admin.audit": "admin.audit",
    "admin.audit.export": "admin.audit",
    "admin.audit.page": "admin.audit",
    # The staff workspace's pages (portal/staff_pages.py): the sign-in form is for anyone, each page for its roles
    "staff.page.home": PUBLIC,  # the sign-in form, or the signed-in member's own home
    "staff.page.signin": PUBLIC,
    "staff.page.signout": PUBLIC,  # ends only the caller's own session
    "staff.page.bench": "sample.read",
    "staff.page.bench.scan": "sample.scan",
    "staff.page.bench.reject": "sample.scan",  # and the state machine's roles for rejecting and recollecting
    "ws.staff": "sample.read",  # the bench's live worklist: tube steps, never patient data
    "staff.page.hl7": "scan.review",  # the HL7 review queue: ids, senders, reasons (no PHI)
    "staff.page.hl7.message": "scan.review",  # one held message as it came (PHI: decrypted, audited)
    "staff.page.hl7.reapply": "scan.review",
    "staff.page.hl7.reviewed": "scan.review",
    "staff.page.critical": "critical.acknowledge",  # the critical values board: MRN, tube, value (staff act on it)
    "staff.page.critical.ack": "critical.acknowledge",
    "staff.page.chain": "admin.escalation",  # who is called about critical values, in order (phones masked)
    "staff.page.chain.set": "admin.escalation",
    "staff.page.roster": "admin.escalation",  # whose shift it is to be messaged first
    "staff.page.roster.add": "admin.escalation",
    "staff.page.roster.remove": "admin.escalation",
    "staff.page.accounts": "admin.staff",
    "staff.page.accounts.add": "admin.staff",
    "staff.page.accounts.change": "admin.staff",
    "staff.page.lab": "admin.lab",
    "staff.page.lab.test": "admin.lab",
    "staff.page.lab.range": "admin.lab",
    "staff.page.lab.range.add": "admin.lab",
    "staff.page.lab.range.remove": "admin.lab",
    "staff.page.analytes": "admin.lab",  # what each test measures, its unit and delta-check limit
    "staff.page.analytes.set": "admin.lab",
    "staff.page.centres": "admin.lab",
    "staff.page.centres.set": "admin.lab",
    "staff.page.operations": "admin.jobs",  # dead letters, uncertain notices, the queue, HL7 senders (no PHI)
    "staff.page.operations.requeue": "admin.jobs",
    "staff.page.operations.settle": "admin.jobs",  # an uncertain notice: it arrived, or send it again
    "staff.page.reception": "collection.desk",  # find a patient (each record read audited) or register a walk-in
    "staff.page.reception.register": "collection.desk",
    "staff.page.reception.order": "collection.desk",
    "staff.page.reception.place": "collection.desk",
    "staff.page.reception.placed": "collection.desk",
    "staff.page.approvals": "report.issue",  # tubes awaiting a pathologist (no PHI)
    "staff.page.approvals.review": "report.issue",  # results, ranges, flags, previous values (PHI, audited)
    "staff.page.approvals.preview": "report.issue",
    "staff.page.approvals.approve": "report.issue",
    "staff.page.approvals.correct": "report.issue",  # a result corrected by hand, with a reason
    "patient.code": PUBLIC,
    "patient.session.create": PUBLIC,
    "patient.link": PUBLIC,
    "patient.session.delete": PATIENT_SELF,
    "patient.status": PATIENT_SELF,
    "patient.access_log": PATIENT_SELF,
    "patient.socket_token": PATIENT_SELF,
    "patient.export": PATIENT_SELF,
    "patient.export.fhir": PATIENT_SELF,
    "patient.close": PATIENT_SELF,
    "patient.report.link": PATIENT_SELF,
    "report.download": PUBLIC,  # the signed, expiring link is the authorization (core/reports/links.py)
    "page.report": PATIENT_SELF,
    "bots.twilio": PUBLIC,  # Twilio's request signature is the authorization (bots/twilio_channel.py)
    "bots.twilio.status": PUBLIC,
    "bots.telegram": PUBLIC,  # the webhook's secret token is the authorization (bots/telegram_channel.py)
    "triage.assess": PUBLIC,  # anyone may ask; a signed-in person's check is kept and audited
    "ws.status": PATIENT_SELF,
    "page.home": PUBLIC,
    "page.signin": PUBLIC,
    "page.signin.send": PUBLIC,
    "page.signin.verify": PUBLIC,
    "page.link": PUBLIC,
    "page.link.redeem": PUBLIC,
    "page.signout": PUBLIC,
    "page.my_tests": PATIENT_SELF,
    "page.my_tests.cards": PATIENT_SELF,
    "page.my_tests.access": PATIENT_SELF,
    "page.switch": PATIENT_SELF,
    "page.my_data": PATIENT_SELF,
    "page.close": PATIENT_SELF,
    "page.triage": PUBLIC,
    "page.triage.assess": PUBLIC,  # as triage.assess: anyone may ask; a signed-in person's check is kept and audited
    "page.book": PATIENT_SELF,
    "page.book.create": PATIENT_SELF,
    "page.consult.book": PATIENT_SELF,
    "page.consult.book.create": PATIENT_SELF,
    # A teleconsult's join link, bound to the first device that opened it, is the authorization for its room, its
    # signalling socket and (on the doctor's side only) its note: core.teleconsult.service.join checks it each time.
    "page.consult.join": PUBLIC,
    "page.consult.room": PUBLIC,
    "ws.consult": PUBLIC,
    "consult.note.read": PUBLIC,
    "consult.note.save": PUBLIC,
    "consult.note.sign": PUBLIC,
    "consult.note.amend": PUBLIC,
    "consult.tests": PUBLIC,
}


# Endpoints that read or change PHI: every request to them leaves an audit row (portal.request_audit), besides
# the rows the domain writes for what was read or changed.
PHI_ENDPOINTS = frozenset(
    {
        "staff.scan",
        "staff.samples.register",
        "staff.samples.read",
        "staff.patient",
        "staff.break_glass",
        "staff.critical",
        "staff.report.issue",
        "patient.status",
        "patient.access_log",
        "patient.export",
        "patient.export.fhir",
        "patient.close",
        "patient.report.link",
        "report.download",
        "page.report",
        "page.my_tests",
        "page.my_tests.cards",
        "page.my_tests.access",
        "page.switch",
        "page.close",
        "page.book",  # shows the person's own booking once made
        "page.book.create",  # their phone and home address
        "page.consult.book.create",  # the reason for the consult, their phone
        "page.consult.room",
        "ws.consult",  # the transcript, the draft note and the patient's results (to the doctor)
        "consult.note.read",
        "consult.note.save",
        "consult.note.sign",
        "consult.note.amend",
        "consult.tests",
        "admin.audit",
        "admin.audit.export",
        "admin.audit.page",
        "staff.page.hl7.message",
        "staff.page.critical",
        "staff.page.critical.ack",
        "staff.page.reception",
        "staff.page.reception.register",
        "staff.page.reception.order",
        "staff.page.reception.place",
        "staff.page.approvals.review",
        "staff.page.approvals.preview",
        "staff.page.approvals.approve",
        "staff.page.approvals.correct",
    }
)


def endpoint_allows(endpoint: str, role: Role | None) -> bool:
    """May ``role`` (None: not signed in) use ``endpoint``? An endpoint missing from the table is refused."""
    action = ENDPOINTS.get(endpoint)
    if action is None:
        return False
    return action == PUBLIC or (role is not None and role in ACTIONS[action])


def require_endpoint(endpoint: str, role: Role | None) -> None:
    if not endpoint_allows(endpoint, role):
        raise PermissionDenied(ENDPOINTS.get(endpoint, endpoint), role.value if role else "anonymous")


def may_transition(role: Role, to_state: SampleState) -> bool:
    return role in TRANSITION_ROLES[to_state]


def require_transition(role: Role, to_state: SampleState) -> None:
    if not may_transition(role, to_state):
        raise PermissionDenied(f"sample.transition:{to_state.value}", role.value)


def require(role: Role, action: str) -> None:
    """Raise ``PermissionDenied`` unless ``role`` may perform ``action``; an unknown action is denied."""
    if role not in ACTIONS.get(action, frozenset()):
        raise PermissionDenied(action, role.value)
