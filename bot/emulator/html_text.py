"""Telegram's parse_mode=HTML: a strict tokenizer that yields visible text and entities."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Tag name -> entity type; None means "decided by attributes" (span, blockquote, a, code).
_TAGS: dict[str, str | None] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": None,
    "a": None,
    "code": None,
    "pre": "pre",
    "blockquote": None,
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]*);")
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR = re.compile(
    r"""\s*([a-zA-Z_][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)
_TG_USER = re.compile(r"tg://user\?id=(\d+)$")


class HtmlError(ValueError):
    """The text is not Telegram-valid HTML; the message follows Telegram's wording."""


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the visible text
    entity: dict[str, Any] | None
    byte_offset: int
    children: list[str] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (entity offsets are measured this way)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Visible text and MessageEntity dicts of a Telegram HTML string, or HtmlError."""
    out: list[str] = []
    pos16 = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "<":
            end = _tag_end(source, i)
            if end < 0:
                raise HtmlError(f"Unclosed start tag at byte offset {_byte_at(source, i)}")
            inner = source[i + 1 : end]
            if inner.startswith("/"):
                _close(inner[1:].strip().lower(), stack, entities, pos16, _byte_at(source, i))
            else:
                if stack and stack[-1].tag in ("code", "pre") and not (
                    stack[-1].tag == "pre" and inner.lower().startswith("code")
                ):
                    raise HtmlError(
                        f"Can't parse entities inside {stack[-1].tag} at byte offset "
                        f"{_byte_at(source, i)}: only <code> may be nested in <pre>"
                    )
                stack.append(_open(inner, pos16, _byte_at(source, i), stack))
            i = end + 1
            continue
        if ch == "&":
            text, i = _entity(source, i)
        elif ch == ">":
            # Telegram tolerates a bare ">" in practice; only "<" and "&" are fatal.
            text, i = ch, i + 1
        else:
            text, i = ch, i + 1
        out.append(text)
        pos16 += utf16_len(text)
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _tag_end(source: str, start: int) -> int:
    """Index of the ">" closing the tag at `start`, skipping ">" inside quoted values."""
    quote = ""
    for j in range(start + 1, len(source)):
        ch = source[j]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == ">":
            return j
        elif ch == "<":
            return -1  # "a < b <i>": the first "<" never became a tag
    return -1


def _byte_at(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _entity(source: str, i: int) -> tuple[str, int]:
    match = _ENTITY.match(source, i)
    if match is None:
        raise HtmlError(
            f"Character entity expected at byte offset {_byte_at(source, i)}: "
            'a bare "&" must be written as "&amp;"'
        )
    body = match.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise HtmlError(f"Invalid character entity at byte offset {_byte_at(source, i)}")
        return chr(code), match.end()
    if body not in _NAMED_ENTITIES:
        raise HtmlError(
            f'Unsupported HTML entity "&{body};" at byte offset {_byte_at(source, i)}; '
            "only &lt; &gt; &amp; &quot; and numeric entities are allowed"
        )
    return _NAMED_ENTITIES[body], match.end()


def _unescape_attr(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            text, i = _entity(value, i)
            out.append(text)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _open(inner: str, pos16: int, byte_offset: int, stack: list[_Open]) -> _Open:
    name_match = _TAG_NAME.match(inner)
    name = name_match.group(0).lower() if name_match else ""
    if not name or name not in _TAGS:
        raise HtmlError(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
    rest = inner[name_match.end() if name_match else 0 :]
    if rest.rstrip().endswith("/"):
        raise HtmlError(f'Unsupported self-closing tag "{name}" at byte offset {byte_offset}')
    attrs = _attributes(rest, name, byte_offset)
    entity = _entity_for(name, attrs, byte_offset, stack)
    if entity is not None:
        entity["offset"] = pos16
    return _Open(name, pos16, entity, byte_offset)


def _attributes(rest: str, tag: str, byte_offset: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    pos = 0
    rest = rest.rstrip()
    while pos < len(rest):
        match = _ATTR.match(rest, pos)
        if match is None or match.end() == pos:
            raise HtmlError(f'Invalid attributes of tag "{tag}" at byte offset {byte_offset}')
        raw = next((g for g in match.groups()[1:] if g is not None), "")
        attrs[match.group(1).lower()] = _unescape_attr(raw)
        pos = match.end()
    return attrs


def _entity_for(
    name: str, attrs: dict[str, str], byte_offset: int, stack: list[_Open]
) -> dict[str, Any] | None:
    kind = _TAGS[name]
    if name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset}')
        return {"type": "spoiler"}
    if name == "tg-emoji":
        emoji_id = attrs.get("emoji-id", "")
        if not emoji_id.isdigit():
            raise HtmlError(f'Tag "tg-emoji" must have attribute "emoji-id" at {byte_offset}')
        return {"type": kind, "custom_emoji_id": emoji_id}
    if name == "a":
        href = attrs.get("href")
        if not href:
            return None  # Telegram keeps the text and drops a link without a target
        user = _TG_USER.match(href)
        if user:
            uid = int(user.group(1))
            return {"type": "text_mention", "user": {"id": uid, "is_bot": False, "first_name": ""}}
        return {"type": "text_link", "url": href}
    if name == "code":
        parent = stack[-1] if stack else None
        language = attrs.get("class", "")
        if parent is not None and parent.tag == "pre" and parent.entity is not None:
            if language.startswith("language-"):
                parent.entity["language"] = language[len("language-") :]
            return None  # <pre><code> is one pre entity
        return {"type": "code"}
    if name == "blockquote":
        if any(s.tag == "blockquote" for s in stack):
            raise HtmlError(f"Blockquotes can't be nested (byte offset {byte_offset})")
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    return {"type": kind}


def _close(
    name: str, stack: list[_Open], entities: list[dict[str, Any]], pos16: int, byte_offset: int
) -> None:
    if not stack:
        raise HtmlError(f'Unexpected end tag "{name}" at byte offset {byte_offset}')
    top = stack[-1]
    if top.tag != name:
        raise HtmlError(
            f'Unmatched end tag at byte offset {byte_offset}, expected "</{top.tag}>", '
            f'found "</{name}>"'
        )
    stack.pop()
    if top.entity is not None and pos16 > top.start:
        top.entity["length"] = pos16 - top.start
        entities.append(top.entity)


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram does, shifting and clipping entity ranges."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, limit)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result
