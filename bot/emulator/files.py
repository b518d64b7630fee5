"""File storage: issued file_ids, photo size sets, getFile paths and download bytes."""

from __future__ import annotations

import io
import mimetypes
from dataclasses import dataclass
from typing import Any

PHOTO_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024
# Telegram's thumbnail ladder (s, m, x, y) plus the 2560 cap for the largest copy.
_PHOTO_STEPS = (90, 320, 800, 1280)
_PHOTO_MAX_SIDE = 2560
_FALLBACK_SIZE = (800, 600)


@dataclass
class StoredFile:
    """One file_id the emulator issued."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" or "document"
    data: bytes | None  # None for files "sent by URL": the emulator never fetches URLs
    file_path: str
    file_size: int
    width: int = 0
    height: int = 0
    photo_set: int = 0
    file_name: str | None = None
    mime_type: str | None = None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Pixel size of an image (Pillow if installed, else a fixed guess); None if undecodable."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a project dependency
        return _FALLBACK_SIZE
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - any decoder failure means "not an image" to Telegram
        return None


class FileStore:
    """All files known to the emulator, by file_id and by file_path."""

    def __init__(self) -> None:
        self.files: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}
        self._photo_sets: dict[int, list[StoredFile]] = {}
        self._counter = 0

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _store(self, stored: StoredFile) -> StoredFile:
        self.files[stored.file_id] = stored
        self.by_path[stored.file_path] = stored
        return stored

    def add_photo(self, data: bytes | None, width: int, height: int) -> list[dict[str, Any]]:
        """Register a photo and its thumbnail ladder; returns the PhotoSize list (small first)."""
        set_id = self._next()
        side = max(width, height, 1)
        targets = [t for t in _PHOTO_STEPS if side > t] + [min(side, _PHOTO_MAX_SIDE)]
        full = len(data) if data is not None else 0
        sizes: list[StoredFile] = []
        for target in targets:
            w = max(1, round(width * target / side))
            h = max(1, round(height * target / side))
            n = self._next()
            # Smaller copies get a size estimate proportional to their area.
            estimate = full if target == targets[-1] else max(1, full * w * h // max(1, width * height))
            sizes.append(
                self._store(
                    StoredFile(
                        file_id=f"AgACAgIAAxkemu{n:06d}Photo{target}",
                        file_unique_id=f"AQADemu{n:06d}",
                        kind="photo",
                        data=data,
                        file_path=f"photos/file_{n}.jpg",
                        file_size=estimate,
                        width=w,
                        height=h,
                        photo_set=set_id,
                    )
                )
            )
        self._photo_sets[set_id] = sizes
        return [photo_size(s) for s in sizes]

    def add_document(
        self, data: bytes | None, file_name: str | None, mime_type: str | None
    ) -> dict[str, Any]:
        """Register a document; returns the Document dict."""
        n = self._next()
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1][:10]
        stored = self._store(
            StoredFile(
                file_id=f"BQACAgIAAxkemu{n:06d}Doc",
                file_unique_id=f"AgADemu{n:06d}",
                kind="document",
                data=data,
                file_path=f"documents/file_{n}{suffix}",
                file_size=len(data) if data is not None else 0,
                file_name=file_name,
                mime_type=mime_type or "application/octet-stream",
            )
        )
        return document(stored)

    def get(self, file_id: str) -> StoredFile | None:
        """The stored file for a file_id, if the emulator issued it."""
        return self.files.get(file_id)

    def photo_sizes(self, file_id: str) -> list[dict[str, Any]] | None:
        """All sizes of the photo a file_id belongs to (resending sends every size)."""
        stored = self.files.get(file_id)
        if stored is None or stored.kind != "photo":
            return None
        return [photo_size(s) for s in self._photo_sets[stored.photo_set]]


def photo_size(stored: StoredFile) -> dict[str, Any]:
    """PhotoSize dict of a stored photo copy."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": stored.width,
        "height": stored.height,
        "file_size": stored.file_size,
    }


def document(stored: StoredFile) -> dict[str, Any]:
    """Document dict of a stored document."""
    result: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "mime_type": stored.mime_type,
    }
    if stored.file_name:
        result["file_name"] = stored.file_name
    return result


def file_object(stored: StoredFile) -> dict[str, Any]:
    """File dict as getFile returns it."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "file_path": stored.file_path,
    }
