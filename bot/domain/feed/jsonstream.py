"""Elements of a top-level JSON list, decoded one at a time so memory stays flat.

The standard library decodes each element (``raw_decode``); this module only finds where one
element ends and the next begins, reads more of the stream when an element is cut, and says
on which line a syntax error is.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal

from bot.domain.feed.fields import FeedError

CHUNK = 1 << 16

_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def json_items(text: io.TextIOWrapper) -> Iterator[tuple[int, object]]:
    """Elements of a top-level JSON list, decoded one at a time so memory stays flat."""
    # Numbers keep their literal text; NaN/Infinity become Decimals that the checks reject.
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=Decimal)
    buf, pos, eof, lines_before = "", 0, False, 0

    def more() -> bool:
        nonlocal buf, pos, eof, lines_before
        if eof:
            return False
        # Read at least as much as is buffered so one huge item costs O(n log n), not O(n²).
        try:
            chunk = text.read(max(CHUNK, len(buf) - pos))
        except UnicodeDecodeError:
            raise FeedError("the file is not UTF-8 text") from None
        if not chunk:
            # The buffer stays as it was: a decode error just raised still points into it.
            eof = True
            return False
        lines_before += buf.count("\n", 0, pos)
        buf = buf[pos:] + chunk
        pos = 0
        return True

    def skip_space() -> str:
        nonlocal pos
        while True:
            # The pattern matches the empty string, so there is always a match.
            pos = _JSON_SPACE.match(buf, pos).end()  # type: ignore[union-attr]
            if pos < len(buf) or not more():
                return buf[pos:pos + 1]

    first = skip_space()
    if not first:
        raise FeedError("the file is empty")
    if first == "{":
        raise FeedError("a JSON feed must be a list of objects, this file holds one object")
    if first != "[":
        raise FeedError("not a valid JSON feed: it must be a list of objects")
    pos += 1
    number = 0
    if skip_space() == "]":
        pos += 1
    else:
        while True:
            number += 1
            while True:
                try:
                    item, end = decoder.raw_decode(buf, pos)
                except RecursionError:
                    raise FeedError(f"invalid JSON: item {number} is nested too deeply") from None
                except json.JSONDecodeError as exc:
                    if more():
                        continue
                    line = lines_before + exc.lineno
                    raise FeedError(f"invalid JSON at line {line}: {exc.msg}") from None
                except ValueError:  # Python refuses integers with thousands of digits
                    raise FeedError(f"invalid JSON: a number in item {number} is too long") \
                        from None
                # A number at the very end of the buffer may continue in the next chunk.
                if end == len(buf) and more():
                    continue
                break
            pos = end
            yield number, item
            separator = skip_space()
            pos += 1
            if separator == "]":
                break
            if separator != ",":
                line = lines_before + buf.count("\n", 0, pos) + 1
                raise FeedError(f"invalid JSON at line {line}: expected ',' or ']' after "
                                f"item {number}")
            skip_space()
    if skip_space():
        raise FeedError("invalid JSON: extra data after the list")
