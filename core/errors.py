"""Domain errors: small classes that carry their data. Adapters map them to status codes and calm words."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose. ``code`` is stable and machine-readable. An error a patient
    may read names its catalogue message (``key``, with ``fields``; core.i18n.worded): ``message`` is its English,
    and a page or chat says it in the person's language (core.i18n.error_text)."""

    code = "domain_error"
    key: str | None = None
    fields: dict[str, object] = {}  # noqa: RUF012 - replaced per error, never changed in place

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, object]:
        """Extra machine-readable fields for API bodies (never PHI)."""
        return {}


class NotFound(DomainError):
    code = "not_found"


class Gone(DomainError):
    """Something that existed and no longer can be used (an expired link)."""

    code = "gone"


class Conflict(DomainError):
    code = "conflict"


class Invalid(DomainError):
    code = "invalid"


class PermissionDenied(DomainError):
    code = "forbidden"

    def __init__(self, action: str, role: str) -> None:
        super().__init__(f"The role '{role}' may not perform '{action}'.")
        self.action = action
        self.role = role

    def details(self) -> dict[str, object]:
        return {"action": self.action, "role": self.role}


class Unauthenticated(DomainError):
    code = "unauthenticated"


class SampleNotFound(NotFound):
    code = "sample_not_found"

    def __init__(self, sample_id: str) -> None:
        super().__init__(f"No sample with id {sample_id}.")
        self.sample_id = sample_id


class UnknownBarcode(NotFound):
    """A scanned barcode that matches no sample. The scan itself is recorded for review."""

    code = "unknown_barcode"

    def __init__(self, barcode: str) -> None:
        super().__init__(f"No sample has the barcode '{barcode}'. The scan was recorded for review.")
        self.barcode = barcode

    def details(self) -> dict[str, object]:
        return {"barcode": self.barcode}


class PatientNotFound(NotFound):
    code = "patient_not_found"

    def __init__(self, patient_id: str) -> None:
        super().__init__(f"No patient with id {patient_id}.")
        self.patient_id = patient_id


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"No order with id {order_id}.")
        self.order_id = order_id


class InvalidTransition(Conflict):
    """The state machine has no edge from ``from_state`` to ``to_state``."""

    code = "invalid_transition"

    def __init__(self, barcode: str, from_state: str, to_state: str) -> None:
        super().__init__(f"Sample {barcode} is '{from_state}' and cannot move to '{to_state}'.")
        self.barcode = barcode
        self.from_state = from_state
        self.to_state = to_state

    def details(self) -> dict[str, object]:
        return {"barcode": self.barcode, "from": self.from_state, "to": self.to_state}


class StaleVersion(Conflict):
    """The caller acted on a version of the sample that someone else has since changed."""

    code = "stale_version"

    def __init__(self, barcode: str, expected: int, actual: int) -> None:
        super().__init__(
            f"Sample {barcode} changed while you were working on it (you had version {expected}, "
            f"it is now version {actual}). Scan it again to see its current state."
        )
        self.barcode = barcode
        self.expected = expected
        self.actual = actual

    def details(self) -> dict[str, object]:
        return {"barcode": self.barcode, "expected_version": self.expected, "current_version": self.actual}


class DuplicateBarcode(Conflict):
    code = "duplicate_barcode"

    def __init__(self, barcode: str) -> None:
        super().__init__(f"The barcode '{barcode}' is already in use by another sample.")
        self.barcode = barcode

    def details(self) -> dict[str, object]:
        return {"barcode": self.barcode}


class InvalidInput(Invalid):
    """A value that breaks a domain rule; ``field`` names the input at fault."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def details(self) -> dict[str, object]:
        return {"field": self.field}


class TooManyAttempts(DomainError):
    """A rate limit or lockout. ``retry_after`` is in seconds; the message stays calm and says when to retry."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)

    def details(self) -> dict[str, object]:
        return {"retry_after": self.retry_after}


class SignInFailed(Unauthenticated):
    """A wrong, expired or used one-time code or link. Never says which, so it leaks nothing."""

    code = "sign_in_failed"


class AccountLocked(TooManyAttempts):
    code = "account_locked"


class SecondFactorRequired(Unauthenticated):
    """The password was right; the account also needs its authenticator code."""

    code = "totp_required"

    def __init__(self) -> None:
        super().__init__("Enter the 6-digit code from your authenticator app as well.")


class NotYourPatient(PermissionDenied):
    """The role may read records, but not this patient's (a doctor who did not refer them)."""

    code = "not_your_patient"

    def __init__(self, role: str) -> None:
        super().__init__("patient.read", role)
        self.message = (
            "This patient is not one of yours. In an emergency, use break-glass access: state your reason and the "
            "record opens for 30 minutes; administrators are told."
        )
