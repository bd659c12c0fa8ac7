"""Files uploaded through forms (console replies, the portal, the chat): each read only up to
its limit and named safely."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import UploadFile

from casedesk.domain.errors import InvalidInput
from casedesk.domain.filenames import safe_filename
from casedesk.services.messages import NewAttachment


def size_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit // 1024} KiB"


async def read_uploads(
    files: Sequence[UploadFile], *, max_files: int, max_bytes: int, field: str = "files"
) -> list[NewAttachment]:
    """The chosen files as attachments; more than ``max_files`` or one over ``max_bytes`` is
    refused, naming the file, before anything is stored."""
    chosen = [f for f in files if isinstance(f, UploadFile) and f.filename]
    if len(chosen) > max_files:
        raise InvalidInput(f"attach at most {max_files} files", field=field)
    out = []
    for upload in chosen:
        content = await upload.read(max_bytes + 1)
        if len(content) > max_bytes:
            raise InvalidInput(
                f"'{upload.filename}' is larger than {size_text(max_bytes)}", field=field
            )
        out.append(attachment(upload.filename or "", upload.content_type, content))
    return out


def attachment(filename: str, content_type: str | None, content: bytes) -> NewAttachment:
    return NewAttachment(
        filename=safe_filename(filename)[:255] or "file",
        content_type=(content_type or "application/octet-stream")[:255],
        content=content,
        size=len(content),
    )
