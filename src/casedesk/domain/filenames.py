"""Names of files people send: made safe to store, show, download and mail."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def safe_filename(name: str) -> str:
    """The last path component, without control characters, lone surrogates or leading dots,
    at most 200 long (the extension kept); empty when nothing usable is left."""
    name = re.split(r"[/\\]", _SURROGATE.sub("\ufffd", name))[-1]
    name = " ".join(_CONTROL.sub("", name).split()).lstrip(".").rstrip(". ")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = stem[: 199 - len(ext)] + dot + ext if dot and len(ext) <= 16 else name[:200]
    return name
