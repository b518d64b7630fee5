"""Font lookup, cached loading and glyph coverage for the card and chart renderers."""

from __future__ import annotations

import struct
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from PIL import ImageFont

# The face wanted inside a CJK collection: Simplified Chinese glyph shapes for zh_CN buyers.
PREFERRED_FACE = "Noto Sans CJK SC"
# Controls, format characters (joiners, direction marks), surrogates, private use, unassigned:
# never worth drawing on a card, and most would come out as boxes.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def find_font(font_path: str = "") -> str:
    """The configured font file if given, else the pip-installed Noto Sans CJK collection."""
    if font_path:
        if not Path(font_path).is_file():
            raise FileNotFoundError(f"no font file at {font_path!r}")
        return font_path
    import noto_cjk_sans_otc  # imported here so a configured font needs no font package

    path = Path(str(noto_cjk_sans_otc.FONT_PATH))
    if not path.is_file():
        # A zipped install has no real file for FreeType to open.
        raise FileNotFoundError(f"the Noto Sans CJK font is not a file on disk ({path}); set card.font_path")
    return str(path)


@lru_cache(maxsize=16)
def face_index(path: str) -> int:
    """Index of the Simplified Chinese face in a font collection (0 for a single font)."""
    with open(path, "rb") as fh:
        if fh.read(4) != b"ttcf":
            return 0
        fh.read(4)
        (count,) = struct.unpack(">I", fh.read(4))
    fallback = 0
    for index in range(count):
        family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        if family == PREFERRED_FACE:
            return index
        if fallback == 0 and family.endswith(" SC"):
            fallback = index
    return fallback


@lru_cache(maxsize=64)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The font at ``path`` in ``size`` pixels (the SC face of a collection), cached."""
    # BASIC layout: identical output with or without libraqm, so renders stay byte-stable
    # across machines; Chinese and Latin need no complex shaping.
    return ImageFont.truetype(path, size, index=face_index(path), layout_engine=ImageFont.Layout.BASIC)


@dataclass(frozen=True)
class Coverage:
    """The code points a font maps to a real glyph, as sorted inclusive ranges."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __contains__(self, codepoint: object) -> bool:
        if not isinstance(codepoint, int):
            return False
        at = bisect_right(self.starts, codepoint) - 1
        return at >= 0 and codepoint <= self.ends[at]


@lru_cache(maxsize=16)
def coverage(path: str) -> Coverage | None:
    """The code points the chosen face of ``path`` covers, or None if its cmap is unreadable."""
    try:
        with open(path, "rb") as fh:
            data = _read_cmap(fh, face_index(path))
    except (OSError, struct.error, ValueError):
        return None
    return _parse_cmap(data) if data else None


def has_glyph(path: str, char: str) -> bool:
    """Whether the font draws ``char`` with a real glyph (True when coverage is unknown)."""
    cov = coverage(path)
    return cov is None or ord(char) in cov


def drawable(text: str, path: str) -> str:
    """``text`` on one line with characters the font lacks (emoji and the like) removed."""
    cov = coverage(path)
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) in _INVISIBLE:
            continue
        elif cov is None or ord(char) in cov:
            kept.append(char)
    return " ".join("".join(kept).split())


def _read_cmap(fh: BinaryIO, index: int) -> bytes:
    """Raw bytes of the ``cmap`` table of face ``index`` of an sfnt file or collection."""
    read, seek = fh.read, fh.seek
    head = read(12)
    offset = 0
    if head[:4] == b"ttcf":
        seek(12 + 4 * index)
        (offset,) = struct.unpack(">I", read(4))
    seek(offset + 4)
    (tables,) = struct.unpack(">H", read(2))
    seek(offset + 12)
    records = read(16 * tables)
    for i in range(tables):
        tag, _checksum, start, length = struct.unpack(">4sIII", records[16 * i : 16 * i + 16])
        if tag == b"cmap":
            seek(start)
            return read(length)
    return b""


def _parse_cmap(data: bytes) -> Coverage | None:
    """Coverage from a cmap table, preferring the full-Unicode (format 12) subtable."""
    (count,) = struct.unpack_from(">H", data, 2)
    subtables: dict[int, int] = {}
    for i in range(count):
        _platform, _encoding, offset = struct.unpack_from(">HHI", data, 4 + 8 * i)
        (fmt,) = struct.unpack_from(">H", data, offset)
        subtables.setdefault(fmt, offset)
    if 12 in subtables:
        ranges = _format12(data, subtables[12])
    elif 4 in subtables:
        ranges = _format4(data, subtables[4])
    else:
        return None
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return Coverage(tuple(r[0] for r in merged), tuple(r[1] for r in merged))


def _format12(data: bytes, offset: int) -> list[tuple[int, int]]:
    (groups,) = struct.unpack_from(">I", data, offset + 12)
    ranges = []
    for i in range(groups):
        start, end, glyph = struct.unpack_from(">III", data, offset + 16 + 12 * i)
        if glyph == 0:
            start += 1  # the first code point of the group maps to .notdef
        if start <= end:
            ranges.append((start, end))
    return ranges


def _format4(data: bytes, offset: int) -> list[tuple[int, int]]:
    (seg_x2,) = struct.unpack_from(">H", data, offset + 6)
    segs = seg_x2 // 2
    ends_at = offset + 14
    starts_at = ends_at + seg_x2 + 2
    deltas_at = starts_at + seg_x2
    ranges_at = deltas_at + seg_x2
    found: list[tuple[int, int]] = []
    for s in range(segs):
        end = struct.unpack_from(">H", data, ends_at + 2 * s)[0]
        start = struct.unpack_from(">H", data, starts_at + 2 * s)[0]
        delta = struct.unpack_from(">h", data, deltas_at + 2 * s)[0]
        range_offset = struct.unpack_from(">H", data, ranges_at + 2 * s)[0]
        if start == 0xFFFF:
            continue
        for code in range(start, end + 1):
            if range_offset == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                where = ranges_at + 2 * s + range_offset + 2 * (code - start)
                glyph = struct.unpack_from(">H", data, where)[0]
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                found.append((code, code))
    return found
