"""One MIME part at a time: its type, parameters, disposition, file name, decoded payload and
text."""

from __future__ import annotations

import re
from email.message import Message
from email.utils import collapse_rfc2231_value

from casedesk.channels.email.decode import (
    decode_text,
    decode_words,
    lenient_b64decode,
    recover_header,
    unflow,
)
from casedesk.channels.email.headers import first_value, header_fields
from casedesk.domain.filenames import safe_filename as safe_filename

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]{1,40})""", re.I)


def child_parts(part: Message) -> list[Message] | None:
    try:
        payload = part.get_payload()
    except Exception:
        return None
    if not isinstance(payload, list):
        return None
    return [p for p in payload if isinstance(p, Message)]


def content_type(part: Message) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        raw = first_value(header_fields(part), "content-type").split(";", 1)[0].strip().lower()
        ctype = raw if re.fullmatch(r"[\w.+-]+/[\w.+-]+", raw) else "text/plain"
    return ctype if isinstance(ctype, str) else "text/plain"


def param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
        if isinstance(value, tuple):
            value = collapse_rfc2231_value(value)
        return str(value).strip().lower() if value else ""
    except Exception:
        return ""


def disposition_of(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        raw = first_value(header_fields(part), "content-disposition")
        return raw.split(";", 1)[0].strip().lower() or None


def filename_of(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        return ""
    name = recover_header(str(name))
    return decode_words(name) if "=?" in name else name


def part_payload(part: Message) -> bytes:
    try:
        if (
            first_value(header_fields(part), "content-transfer-encoding").strip().lower()
            == "base64"
        ):
            payload = part.get_payload()
            if isinstance(payload, str):  # the stdlib returns undecodable base64 still encoded
                return lenient_b64decode(payload)
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            return data
        payload = part.get_payload()
        return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    except Exception:
        return b""


def part_text(part: Message, ctype: str) -> str:
    data = part_payload(part)
    charset = param(part, "charset") or None
    if charset is None and ctype == "text/html":
        meta = _META_CHARSET.search(data[:4096])
        charset = meta.group(1).decode("ascii", "replace") if meta else None
    text = decode_text(data, charset).replace("\r\n", "\n").replace("\r", "\n")
    if ctype == "text/plain" and param(part, "format") == "flowed":
        text = unflow(text, delsp=param(part, "delsp") == "yes")
    return text
