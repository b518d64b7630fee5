"""Request decoding, spec checks and Telegram's documented limits (text, buttons, deep links)."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

from .html_text import HtmlError, parse_html, strip_text
from .models import UploadedFile, bad_request
from .spec import Spec

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_TEXT_LIMIT = 200
CALLBACK_DATA_BYTES = 64
BUTTONS_PER_ROW = 8
BUTTONS_TOTAL = 100

_INT = re.compile(r"-?[0-9]+")
_BOOL = {"true": True, "false": False, "1": True, "0": False}
_BUTTON_KINDS = (
    "url", "callback_data", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "web_app", "pay", "callback_game",
)
_DEEP_LINK = re.compile(
    r"(?:https?://)?(?:t|telegram)\.me/([A-Za-z0-9_]{3,})\?(start|startgroup)=([^\s\"'<>&#]*)",
    re.IGNORECASE,
)
DEEP_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def decode_params(
    spec: Spec, method: str, raw: dict[str, Any], files: dict[str, UploadedFile]
) -> dict[str, Any]:
    """Turn wire values into Python ones using the spec's types; attach:// files are resolved."""
    params: dict[str, Any] = {}
    referenced: set[str] = set()
    for name, value in raw.items():
        types = spec.param_types(method, name)
        if types is None:
            raise bad_request(
                f'unknown parameter "{name}"',
                reason=f'{method} has no parameter "{name}" in the Bot API spec',
            )
        if isinstance(value, str) and value.startswith("attach://") and "InputFile" in types:
            part = value[len("attach://"):]
            if part not in files:
                raise bad_request(f'file "{part}" referenced by {name} was not uploaded')
            referenced.add(part)
            params[name] = files[part]
            continue
        params[name] = decode_value(name, value, types)
    for part, upload in files.items():
        if part in referenced or part in params:
            continue
        if spec.param_types(method, part) is None:
            raise bad_request(
                f'unknown parameter "{part}"', reason=f"{method}: unexpected file part {part!r}"
            )
        params[part] = upload
    return params


def decode_value(name: str, value: Any, types: tuple[str, ...]) -> Any:
    """Decode one form value (always a string) into the type the spec declares."""
    if not isinstance(value, str):
        return value  # JSON bodies and file parts already carry their type
    kinds = set(types)
    if kinds <= {"String", "InputFile"}:
        return value
    if "Integer" in kinds and _INT.fullmatch(value):
        return int(value)
    if "Float" in kinds:
        try:
            return float(value)
        except ValueError:
            pass
    if kinds & {"Boolean", "True"} and value.lower() in _BOOL:
        return _BOOL[value.lower()]
    if "String" in kinds or kinds <= {"Integer", "Float", "Boolean", "True"}:
        return value  # leave it; the type check names the mismatch
    try:
        return json.loads(value)
    except ValueError:
        raise bad_request(
            f"can't parse {name} JSON object", reason=f"{name} is not valid JSON: {value[:80]!r}"
        ) from None


def check_params(spec: Spec, method: str, params: dict[str, Any]) -> None:
    """Required parameters present and every value of the declared JSON type."""
    fields = spec.method_fields(method) or {}
    for field in fields.values():
        if field.required and field.name not in params:
            raise bad_request(_missing_text(field.name), reason=f"{method}: {field.name} missing")
    for name, value in params.items():
        types = spec.param_types(method, name)
        if not types:
            continue
        errors = spec.check(value, types, name)
        if errors:
            raise bad_request(
                f'wrong type of parameter "{name}"',
                reason=f"{method}: " + "; ".join(errors[:5]),
            )
    chat_id = params.get("chat_id")
    if isinstance(chat_id, str) and not chat_id.startswith("@"):
        raise bad_request("chat not found", reason=f"chat_id {chat_id!r} is neither int nor @name")
    if "link_preview_options" in params and not isinstance(params["link_preview_options"], dict):
        raise bad_request("can't parse link preview options JSON object")


def _missing_text(name: str) -> str:
    # Telegram's wording for the two most common omissions; a generic one otherwise.
    return {"text": "message text is empty", "chat_id": "chat_id is empty"}.get(
        name, f'parameter "{name}" is required'
    )


def parse_content(
    text: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None,
    *,
    caption: bool,
) -> tuple[str, list[dict[str, Any]]]:
    """Visible text + entities after parse_mode, checked against the text or caption limit."""
    found: list[dict[str, Any]] = list(entities or [])
    if parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            text, parsed, error = _parsed_html(text)
            if error is not None:
                raise bad_request(f"can't parse entities: {error}")
            found = [dict(entity) for entity in parsed]  # the caller's own copies
        elif mode not in ("markdown", "markdownv2"):
            raise bad_request("unsupported parse_mode", reason=f"parse_mode {parse_mode!r}")
        # Markdown modes are passed through unparsed: the emulator measures the raw text.
    text, found = strip_text(text, found)
    limit = CAPTION_LIMIT if caption else TEXT_LIMIT
    if not caption and not text:
        raise bad_request("message text is empty")
    if len(text) > limit:
        what = "message caption is too long" if caption else "message is too long"
        raise bad_request(what, reason=f"{len(text)} visible characters > {limit}")
    return text, found


@functools.lru_cache(maxsize=512)
def _parsed_html(source: str) -> tuple[str, tuple[dict[str, Any], ...], str | None]:
    """``parse_html`` once per distinct text: a fan-out sends one caption thousands of times."""
    try:
        text, entities = parse_html(source)
    except HtmlError as exc:
        return "", (), str(exc)
    return text, tuple(entities), None


def deep_link_issues(text: str) -> list[str]:
    """Reasons for each t.me/<bot>?start=<payload> link whose payload Telegram would not pass."""
    return list(_deep_link_issues(text or ""))


@functools.lru_cache(maxsize=512)
def _deep_link_issues(text: str) -> tuple[str, ...]:
    issues = []
    for match in _DEEP_LINK.finditer(text or ""):
        payload = match.group(3)
        if not DEEP_LINK_PAYLOAD.fullmatch(payload):
            issues.append(
                f"deep link payload {payload!r} in {match.group(0)!r} must be 1-64 chars of "
                "A-Za-z0-9_-"
            )
    return tuple(issues)


def check_reply_markup(markup: Any, soft: list[str]) -> None:
    """Inline keyboard rules: one action per button, callback_data bytes, URLs, sizes."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list):
        raise bad_request("can't parse inline keyboard markup: inline_keyboard must be an array")
    total = 0
    for r, row in enumerate(rows):
        if not isinstance(row, list):
            raise bad_request(f"can't parse inline keyboard markup: row {r} is not an array")
        if len(row) > BUTTONS_PER_ROW:
            raise bad_request(
                "reply markup is too long", reason=f"row {r} has {len(row)} buttons (> 8)"
            )
        total += len(row)
        for c, button in enumerate(row):
            _check_button(button, f"button [{r}][{c}]", soft)
    if total > BUTTONS_TOTAL:
        raise bad_request("reply markup is too long", reason=f"{total} buttons (> 100)")


def _check_button(button: Any, where: str, soft: list[str]) -> None:
    if not isinstance(button, dict):
        raise bad_request(f"can't parse inline keyboard button: {where} is not an object")
    if not button.get("text"):
        raise bad_request("text buttons are unallowed in the inline keyboard",
                          reason=f"{where} has no text")
    kinds = [k for k in _BUTTON_KINDS if k in button]
    if not kinds:
        raise bad_request("text buttons are unallowed in the inline keyboard",
                          reason=f"{where} {button.get('text')!r} has no action field")
    if len(kinds) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one action field must be used",
            reason=f"{where} {button.get('text')!r} has {', '.join(kinds)}",
        )
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(data.encode("utf-8")) if isinstance(data, str) else -1
        if not 1 <= size <= CALLBACK_DATA_BYTES:
            raise bad_request(
                "BUTTON_DATA_INVALID", reason=f"{where} callback_data is {size} bytes (1-64)"
            )
    if "web_app" in button:
        issue = web_app_url_issue((button["web_app"] or {}).get("url")
                                  if isinstance(button["web_app"], dict) else None)
        if issue:
            raise bad_request("BUTTON_URL_INVALID", reason=f"{where} {issue}")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+$", url, re.IGNORECASE):
            raise bad_request("BUTTON_URL_INVALID", reason=f"{where} url {url!r}")
        soft.extend(f"{where}: {issue}" for issue in deep_link_issues(url))


def own_start_link(url: str, bot_username: str) -> bool:
    """True for the bot's own https://t.me/<bot>?start=<valid payload> link."""
    pattern = rf"(?:https?://)?t\.me/{re.escape(bot_username)}\?start=([^&#]*)(?:[&#].*)?"
    match = re.fullmatch(pattern, url, re.IGNORECASE)
    return bool(match and DEEP_LINK_PAYLOAD.fullmatch(match.group(1)))


def entity_urls(entities: list[dict[str, Any]] | None) -> list[str]:
    """URLs carried by text_link entities (deep links can hide there)."""
    return [e["url"] for e in entities or [] if isinstance(e, dict) and "url" in e]


def web_app_url_issue(url: Any) -> str | None:
    """Why Telegram would refuse this Mini App URL, or None.

    WebAppInfo.url must be HTTPS. Like Telegram's test environment, the emulator also takes
    plain HTTP to an IP address or localhost, so local runs can open the app.
    """
    if not isinstance(url, str):
        return "web_app.url must be a string"
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = host == "localhost"
    if parts.scheme == "http" and is_ip:
        return None
    return f"web_app url {url!r} is not HTTPS"
