"""getFile: where to download a file the bot was sent or uploaded."""

from __future__ import annotations

from typing import Any

from .core import Core
from .dispatch import api_method
from .errors import bad_request
from .params import Params

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


@api_method("getFile")
async def get_file(core: Core, params: Params) -> dict[str, Any]:
    file = core.files.get(params.string("file_id"))
    if file is None:
        raise bad_request("invalid file_id")
    if file.size > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return file.file_api()
