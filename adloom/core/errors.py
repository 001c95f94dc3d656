"""Typed errors. Every failure a user can cause or meet raises one of these.

Messages are read by people: they name the input, what was wrong, and what to
do. Only ``serving`` maps these to HTTP status codes or exit codes.
"""

from __future__ import annotations


class AdloomError(Exception):
    """Base of every adloom error."""


class InputError(AdloomError, ValueError):
    """User-supplied input is invalid (a brief field, a CLI option, a file)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConfigError(AdloomError):
    """Settings are missing or contradictory."""


class NotFoundError(AdloomError, LookupError):
    """A named thing (creative, job, model file, plugin) does not exist."""


class PathOutsideRootError(InputError):
    """A user-supplied path resolves outside the roots it is allowed in."""


class UnsupportedContentError(InputError):
    """An uploaded file's content is not of an accepted kind."""


class ImportRowError(InputError):
    """One row of an imported file is invalid."""

    def __init__(self, message: str, *, row: int, field: str | None = None) -> None:
        super().__init__(f"row {row}: {message}", field=field)
        self.row = row


class BackendUnavailableError(AdloomError):
    """An external or embedded backend (LLM server, model file) cannot be reached or loaded."""


class WorkerCrashedError(BackendUnavailableError):
    """The process running one item died (killed, out of memory, a crash in native code) before it answered."""


class GenerationError(AdloomError):
    """A model produced output that could not be turned into a valid result."""


class QuotaError(AdloomError):
    """A tenant's quota or rate limit is reached; ``retry_after_s`` says when trying again can succeed."""

    def __init__(self, message: str, *, retry_after_s: int = 60, field: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.field = field


class StorageError(AdloomError):
    """The database or file store failed."""


class ComplianceError(AdloomError):
    """Copy violates advertising rules and could not be rewritten."""


class ToolTimeoutError(BackendUnavailableError):
    """An external tool (ffmpeg, the mediapipe worker, ...) ran past the time its work should take and was stopped."""

    def __init__(self, purpose: str, subject: str, timeout_s: float) -> None:
        super().__init__(
            f"{purpose} ({subject}) did not finish within {timeout_s:.0f} s and was stopped; the input may be much "
            "longer or larger than it looks, or the machine is overloaded: check the input, or rerun when the "
            "machine is less busy"
        )
        self.purpose = purpose
        self.subject = subject
        self.timeout_s = timeout_s
