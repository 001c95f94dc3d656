"""Consent for a photo avatar: who is pictured, who agreed, when, to what, for which picture.

A photo avatar animates a real person's face, so it is only built with a
:class:`ConsentRecord` whose ``portrait_sha256`` matches the picture it animates:
consent given for one photo does not carry over to another. The record is stored
beside the avatar (``consent.json`` in its folder) so anyone inspecting a room can see
on what basis the face is used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from adloom.core.errors import InputError
from adloom.core.paths import write_atomic

__all__ = ["CONSENT_FILE", "ConsentRecord", "ConsentRequiredError", "load_consent", "record_consent", "require_consent"]

CONSENT_FILE = "consent.json"
#: A statement shorter than this cannot say what was agreed to.
MIN_STATEMENT_CHARS = 20


class ConsentRequiredError(InputError):
    """A photo avatar was requested without a valid consent record for its portrait."""


@dataclass(frozen=True)
class ConsentRecord:
    """Consent to animate one portrait.

    ``subject``: the person pictured. ``granted_by``: who gave consent (the subject, or
    their authorised representative, or the rights holder of a public-domain photo).
    ``statement``: what was agreed to (e.g. "I agree that Acme may use my photo as a
    live-stream presenter until 2027-12-31"). ``granted_at``: ISO-8601 UTC time.
    ``portrait_sha256``: hash of the exact portrait file the consent covers.
    """

    subject: str
    granted_by: str
    statement: str
    granted_at: str
    portrait_sha256: str

    def __post_init__(self) -> None:
        for name in ("subject", "granted_by", "statement", "granted_at", "portrait_sha256"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConsentRequiredError(f"consent: {name} is empty; say who/what/when explicitly", field=name)
        if len(self.statement.strip()) < MIN_STATEMENT_CHARS:
            raise ConsentRequiredError(
                f"consent: statement {self.statement!r} is too short to say what was agreed to; write what use of "
                "the face was allowed, by whom, and until when",
                field="statement",
            )
        if len(self.portrait_sha256) != 64 or any(c not in "0123456789abcdef" for c in self.portrait_sha256):
            raise ConsentRequiredError(
                f"consent: portrait_sha256 {self.portrait_sha256!r} is not a hex sha256", field="portrait_sha256"
            )
        try:
            datetime.fromisoformat(self.granted_at)
        except ValueError as exc:
            raise ConsentRequiredError(
                f"consent: granted_at {self.granted_at!r} is not an ISO-8601 time", field="granted_at"
            ) from exc

    def to_json(self) -> str:
        return json.dumps({"format": "adloom.consent/1", **asdict(self)}, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> ConsentRecord:
        try:
            data = json.loads(text)
            return cls(**{k: data[k] for k in ("subject", "granted_by", "statement", "granted_at", "portrait_sha256")})
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ConsentRequiredError):
                raise
            raise ConsentRequiredError(f"not a consent record ({exc}); record consent again") from exc

    def save(self, folder: Path) -> Path:
        """Write ``consent.json`` into the avatar's folder (atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return write_atomic(folder / CONSENT_FILE, self.to_json())


def record_consent(
    portrait: Path, *, subject: str, granted_by: str, statement: str, granted_at: datetime | None = None
) -> ConsentRecord:
    """A consent record for the portrait file at ``portrait`` (hashed now), dated now unless given."""
    from adloom.digital_human.avatar.landmarks import sha256_file

    when = (granted_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    return ConsentRecord(
        subject=subject,
        granted_by=granted_by,
        statement=statement,
        granted_at=when,
        portrait_sha256=sha256_file(portrait),
    )


def load_consent(folder: Path) -> ConsentRecord:
    """The consent record stored in an avatar's folder; :class:`ConsentRequiredError` if absent or invalid."""
    path = Path(folder) / CONSENT_FILE
    if not path.is_file():
        raise ConsentRequiredError(
            f"{folder} has no {CONSENT_FILE}: a photo avatar needs the pictured person's recorded consent; "
            "create it with record_consent(...) and save it beside the portrait"
        )
    return ConsentRecord.from_json(path.read_text(encoding="utf-8"))


def require_consent(consent: ConsentRecord | None, portrait_sha256: str, *, portrait_name: str = "portrait") -> None:
    """Raise :class:`ConsentRequiredError` unless ``consent`` covers the portrait with this hash."""
    if consent is None:
        raise ConsentRequiredError(
            f"a photo avatar of {portrait_name} needs the pictured person's consent: pass consent=record_consent("
            "portrait, subject=..., granted_by=..., statement=...)",
            field="consent",
        )
    if not isinstance(consent, ConsentRecord):
        raise ConsentRequiredError(f"consent must be a ConsentRecord, got {type(consent).__name__}", field="consent")
    if consent.portrait_sha256 != portrait_sha256:
        raise ConsentRequiredError(
            f"the consent record (for {consent.subject}, portrait {consent.portrait_sha256[:12]}…) does not cover "
            f"{portrait_name} ({portrait_sha256[:12]}…): consent is per picture; record consent for this file",
            field="consent",
        )
