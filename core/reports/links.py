"""Signed, expiring download links for report PDFs.

A link names one report and the patient it belongs to, and expires (15 minutes from the portal, 72 hours in a
report-ready message). It is signed with a key derived from LABPULSE_SECRET_KEY under its own salt, so no other
token of ours can pass for it. The download still checks the report belongs to the patient named, is rendered, and
the file matches its recorded hash; every download is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.errors import Gone, NotFound

PORTAL_SECONDS = 15 * 60
MESSAGE_SECONDS = 72 * 3600


class LinkInvalid(NotFound):
    code = "link_invalid"

    def __init__(self) -> None:
        super().__init__("This download link is not valid. Please open your report from the portal or ask us again.")


class LinkExpired(Gone):
    code = "link_expired"

    def __init__(self) -> None:
        super().__init__(
            "This download link has expired, to keep your report private. Sign in to the portal to get a fresh one."
        )


@dataclass(frozen=True)
class Grant:
    report_id: str
    patient_id: str
    ttl: int


class ReportLinks:
    def __init__(self, secret: str) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="labpulse.report-download")

    def make(self, report_id: str, patient_id: str, ttl: int = PORTAL_SECONDS) -> str:
        return self._s.dumps({"r": report_id, "p": patient_id, "t": ttl})

    def open(self, token: str) -> Grant:
        try:
            _, data = self._s.loads_unsafe(token)  # read the ttl first: each link carries its own lifetime
            if not isinstance(data, dict) or not isinstance(data.get("t"), int):
                raise LinkInvalid
            payload = self._s.loads(token, max_age=data["t"])
        except SignatureExpired as exc:
            raise LinkExpired from exc
        except BadSignature as exc:
            raise LinkInvalid from exc
        return Grant(str(payload["r"]), str(payload["p"]), int(payload["t"]))
