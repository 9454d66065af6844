"""Every file the bot uploaded or a user sent, kept in memory by id and by path.

Files are what getFile and the `/file/bot<token>/<path>` download serve, and
what a test reads back to check an upload.
"""

from __future__ import annotations

import itertools
import struct
from pathlib import PurePosixPath

from .models import FileRecord

_KIND_PREFIX = {"documents": "BQACAgI", "photos": "AgACAgI"}


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or GIF; other images get a plausible default."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    return 800, 600


class FileStore:
    def __init__(self) -> None:
        self._by_id: dict[str, FileRecord] = {}
        self._by_path: dict[str, FileRecord] = {}
        self._counter = itertools.count(1)

    def add(
        self,
        data: bytes,
        *,
        kind: str = "documents",
        file_name: str | None = None,
        mime_type: str | None = None,
        source_url: str | None = None,
    ) -> FileRecord:
        number = next(self._counter)
        suffix = PurePosixPath(file_name).suffix if file_name else ""
        record = FileRecord(
            file_id=f"{_KIND_PREFIX.get(kind, 'CQACAgI')}-emu-{number}",
            file_unique_id=f"AQAD{number}",
            file_path=f"{kind}/file_{number}{suffix}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            source_url=source_url,
            kind=kind,
        )
        if kind == "photos":
            record.width, record.height = image_size(data)
        self._by_id[record.file_id] = record
        self._by_path[record.file_path] = record
        return record

    def get(self, file_id: str) -> FileRecord | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> FileRecord | None:
        return self._by_path.get(file_path)

    def __len__(self) -> int:
        return len(self._by_id)
