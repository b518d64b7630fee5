"""Plain data types shared by the emulator modules: errors, call records, uploaded parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class EmulatorError(Exception):
    """A test drove the emulator wrongly (unknown user, missing button, ...)."""


class ApiError(Exception):
    """A Bot API error answer; `violation` marks a malformed call (spec or limits) by the bot."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        parameters: dict[str, Any] | None = None,
        violation: bool = False,
        reason: str | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters
        self.violation = violation
        # The reason may say more than the Telegram-shaped description (e.g. which button).
        self.reason = reason or description

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would send for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(text: str, *, reason: str | None = None) -> ApiError:
    """A 400 caused by a malformed call: it is recorded as a violation."""
    return ApiError(400, f"Bad Request: {text}", violation=True, reason=reason)


def world_error(code: int, text: str, **parameters: Any) -> ApiError:
    """An error caused by the state of the world (kicked, migrated, ...): not a violation."""
    prefix = {400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(code, "Error")
    return ApiError(code, f"{prefix}: {text}", parameters=parameters or None)


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part as the bot uploaded it."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def __repr__(self) -> str:
        # Keep call logs readable: never dump the bytes.
        return (f"UploadedFile(filename={self.filename!r}, content_type={self.content_type!r}, "
                f"size={len(self.data)})")


@dataclass
class Call:
    """One request the emulator answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    status: int
    response: dict[str, Any]
    time: float


@dataclass
class Violation:
    """A call Telegram would reject as malformed (spec or limits)."""

    method: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
