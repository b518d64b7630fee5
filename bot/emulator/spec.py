"""Bot API spec loading (bot-api-spec.json) and a small built-in fallback for offline use."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .models import UploadedFile

log = logging.getLogger(__name__)
SPEC_ENV = "KOCBOT_BOT_API_SPEC"
_RELATIVE = (Path("shared/telegram/bot-api-spec.json"), Path("../shared/telegram/bot-api-spec.json"))


@dataclass(frozen=True)
class Field:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool


def find_spec_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Resolve the spec file: explicit path, $KOCBOT_BOT_API_SPEC, else walk up from here and CWD."""
    if explicit is not None:
        path = Path(explicit)
        return path if path.is_file() else None
    env = os.environ.get(SPEC_ENV)
    if env:
        path = Path(env)
        return path if path.is_file() else None
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            for rel in _RELATIVE:
                candidate = folder / rel
                if candidate.is_file():
                    return candidate.resolve()
    return None


# Without the spec file we still know the methods the bot uses; "!" marks a required parameter.
# Parameter names are not checked in this mode (only required ones), so the list can stay short.
_BUILTIN_METHODS: dict[str, str] = {
    "getMe": "",
    "getUpdates": "offset limit timeout allowed_updates",
    "setWebhook": "url! secret_token allowed_updates drop_pending_updates max_connections",
    "deleteWebhook": "drop_pending_updates",
    "getWebhookInfo": "",
    "sendMessage": "chat_id! text! parse_mode entities reply_markup message_thread_id",
    "sendPhoto": "chat_id! photo! caption parse_mode caption_entities reply_markup",
    "sendDocument": "chat_id! document! caption parse_mode caption_entities reply_markup",
    "sendChatAction": "chat_id! action! message_thread_id",
    "answerCallbackQuery": "callback_query_id! text show_alert url cache_time",
    "setMyCommands": "commands! scope language_code",
    "getMyCommands": "scope language_code",
    "deleteMyCommands": "scope language_code",
    "getChat": "chat_id!",
    "getChatMember": "chat_id! user_id!",
    "getChatAdministrators": "chat_id!",
    "getChatMemberCount": "chat_id!",
    "editMessageText": "chat_id message_id inline_message_id text! parse_mode entities reply_markup",
    "editMessageCaption": "chat_id message_id inline_message_id caption parse_mode reply_markup",
    "editMessageReplyMarkup": "chat_id message_id inline_message_id reply_markup",
    "deleteMessage": "chat_id! message_id!",
    "answerInlineQuery": "inline_query_id! results! cache_time is_personal next_offset button",
    "getFile": "file_id!",
    "leaveChat": "chat_id!",
    "setChatMenuButton": "chat_id menu_button",
}

# Types used to decode form-encoded values when the spec is missing; others stay strings
# unless they look like JSON and are listed in _JSON_PARAMS.
_BUILTIN_PARAM_TYPES: dict[str, tuple[str, ...]] = {
    "chat_id": ("Integer", "String"),
    "user_id": ("Integer",),
    "message_id": ("Integer",),
    "message_thread_id": ("Integer",),
    "offset": ("Integer",),
    "limit": ("Integer",),
    "timeout": ("Integer",),
    "cache_time": ("Integer",),
    "max_connections": ("Integer",),
    "show_alert": ("Boolean",),
    "is_personal": ("Boolean",),
    "drop_pending_updates": ("Boolean",),
    "disable_notification": ("Boolean",),
    "protect_content": ("Boolean",),
    "photo": ("InputFile", "String"),
    "document": ("InputFile", "String"),
    "thumbnail": ("InputFile", "String"),
}
_JSON_PARAMS = {
    "reply_markup", "entities", "caption_entities", "link_preview_options", "reply_parameters",
    "allowed_updates", "commands", "scope", "results", "button", "menu_button",
}


class Spec:
    """Field lists and type checking driven by bot-api-spec.json (or the built-in fallback)."""

    def __init__(self, data: dict[str, Any] | None, path: Path | None = None) -> None:
        self.path = path
        self.available = data is not None
        self._methods: dict[str, dict[str, Field]] = {}
        self._types: dict[str, dict[str, Any]] = {}
        if data is not None:
            for name, method in data.get("methods", {}).items():
                self._methods[name] = _fields(method)
            self._types = data.get("types", {})
        else:
            for name, spec in _BUILTIN_METHODS.items():
                fields = {}
                for token in spec.split():
                    pname = token.rstrip("!")
                    types = _BUILTIN_PARAM_TYPES.get(pname) or (
                        ("JSON",) if pname in _JSON_PARAMS else ("String",))
                    fields[pname] = Field(pname, types, token.endswith("!"))
                self._methods[name] = fields
        self._lower = {name.lower(): name for name in self._methods}

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Spec:
        """Load the spec from `path` (or the default search); fall back to the built-in list."""
        found = find_spec_path(path)
        if found is None:
            log.warning("bot-api-spec.json not found (path=%s, $%s); only built-in checks run",
                        path, SPEC_ENV)
            return cls(None)
        return _load_cached(str(found), found.stat().st_mtime_ns)

    def canonical(self, method: str) -> str | None:
        """The spec's spelling of a method name (Telegram matches names case-insensitively)."""
        return self._lower.get(method.lower())

    def method_fields(self, method: str) -> dict[str, Field] | None:
        """Parameters of a method, or None if unknown."""
        return self._methods.get(method)

    def param_types(self, method: str, name: str) -> tuple[str, ...] | None:
        """Declared types of one parameter (built-in guesses for unknown ones without a spec)."""
        fields = self._methods.get(method)
        if fields is not None and name in fields:
            return fields[name].types
        if self.available and fields is not None:
            return None  # the spec knows this method and it has no such parameter
        if name in _BUILTIN_PARAM_TYPES:
            return _BUILTIN_PARAM_TYPES[name]
        return ("JSON",) if name in _JSON_PARAMS else ("String",)

    # --- type checking of decoded values -------------------------------------------------

    def check(self, value: Any, types: tuple[str, ...] | list[str], path: str) -> list[str]:
        """Errors for `value` against a union of spec types; empty when it matches one."""
        best: list[str] | None = None
        for type_name in types:
            errors = self._check_one(value, type_name, path)
            if not errors:
                return []
            if best is None or len(errors) < len(best):
                best = errors
        return best or [f"{path}: no type given"]

    def _check_one(self, value: Any, type_name: str, path: str) -> list[str]:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path}: expected {type_name}"]
            inner = type_name[len("Array of "):]
            errors: list[str] = []
            for i, item in enumerate(value):
                errors += self._check_one(item, inner, f"{path}[{i}]")
            return errors
        simple = _SIMPLE_CHECKS.get(type_name)
        if simple is not None:
            return [] if simple(value) else [f"{path}: expected {type_name}"]
        if type_name == "JSON" or not self.available:
            return []
        spec_type = self._types.get(type_name)
        if spec_type is None:
            return []  # a type the spec does not describe: nothing to check against
        if not isinstance(value, dict):
            return [f"{path}: expected a JSON object ({type_name})"]
        subtypes = spec_type.get("subtypes")
        if subtypes:
            return self.check(value, tuple(subtypes), path)
        return self._check_object(value, type_name, spec_type, path)

    def _check_object(
        self, value: dict[str, Any], type_name: str, spec_type: dict[str, Any], path: str
    ) -> list[str]:
        fields = _fields(spec_type)
        errors: list[str] = []
        discriminator = _discriminator(spec_type)
        if discriminator is not None and value.get("type") != discriminator:
            return [f"{path}: type must be {discriminator!r} for {type_name}"]
        for key in value:
            if key not in fields:
                errors.append(f"{path}: unknown field {key!r} in {type_name}")
        for fname, fdef in fields.items():
            if fname not in value:
                if fdef.required:
                    errors.append(f"{path}: {type_name} needs field {fname!r}")
                continue
            errors += self.check(value[fname], fdef.types, f"{path}.{fname}")
        return errors


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int) -> Spec:
    # A Spec is read-only after construction, so emulators (one per test) can share it.
    with open(path, encoding="utf-8") as fh:
        return Spec(json.load(fh), Path(path))


_MUST_BE = re.compile(r"must be \*?([a-z_]+)\*?", re.IGNORECASE)


def _discriminator(spec_type: dict[str, Any]) -> str | None:
    """The fixed value of a subtype's `type` field ("Type of the result, must be photo")."""
    for f in spec_type.get("fields", []):
        if f["name"] == "type":
            match = _MUST_BE.search(f.get("description", ""))
            return match.group(1) if match else None
    return None


def _fields(obj: dict[str, Any]) -> dict[str, Field]:
    return {
        f["name"]: Field(f["name"], tuple(f["types"]), bool(f["required"]))
        for f in obj.get("fields", [])
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_SIMPLE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "Integer": _is_int,
    "Float": lambda v: _is_int(v) or isinstance(v, float),
    "String": lambda v: isinstance(v, str),
    "Boolean": lambda v: isinstance(v, bool),
    "True": lambda v: v is True,
    "InputFile": lambda v: isinstance(v, UploadedFile),
}
