"""Serving an uploaded file back: always as a download, never rendered by the browser, since
what customers and visitors upload is not trusted."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response


def attachment_response(
    filename: str, content: bytes, headers: dict[str, str] | None = None
) -> Response:
    name = filename or "attachment"
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            **(headers or {}),
        },
    )
