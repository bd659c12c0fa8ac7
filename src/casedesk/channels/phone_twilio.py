"""Twilio's request signature (``X-Twilio-Signature``), as Twilio documents it.

The signature is base64(HMAC-SHA1(auth token, URL + every POST parameter name followed by its
value, names sorted)), where the URL is exactly the one Twilio requested, query string included.
Twilio may sign the URL with or without the default port, so both are accepted (as its own
``RequestValidator`` does). Plain functions: the web layer hands in the URL candidates, the
parameters as posted and the token from the environment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

HEADER = "x-twilio-signature"


def signature(token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """The signature Twilio sends for a form POST of ``params`` to ``url``."""
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    payload = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    mac = hmac.new(token.encode(), payload.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def port_variants(url: str) -> list[str]:
    """``url`` as given, without its port and with the scheme's default port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default = 443 if parts.scheme == "https" else 80
    bare = urlunsplit(parts._replace(netloc=prefix + host))
    ported = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{parts.port or default}"))
    return list(dict.fromkeys([url, bare, ported]))


def valid(
    token: str, urls: Iterable[str], params: Sequence[tuple[str, str]], sent: str | None
) -> bool:
    """Whether ``sent`` is the signature of ``params`` posted to any of ``urls``."""
    if not token or not sent:
        return False
    for url in urls:
        for candidate in port_variants(url):
            if hmac.compare_digest(signature(token, candidate, params), sent.strip()):
                return True
    return False
