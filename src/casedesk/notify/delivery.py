"""Deliver one ``CaseNotice`` to one destination over HTTP and say whether to retry.

The worker owns the outbox row, the attempt count and the clock of the next attempt; this module
owns the request (payload per destination kind, de-duplication headers) and the verdict:

- ``ok``: the receiver accepted the message;
- ``retry``: a transient failure (connection error, timeout, 408/425/429, 5xx, Slack
  ``ratelimited``), with ``retry_after`` seconds when the receiver asked for a pause;
- neither: a permanent failure (wrong URL, revoked hook, bad token …): dead-letter it.

Webhook URLs and bot tokens are secrets. ``DeliveryResult.error`` never contains them, the
``Destination`` repr hides them, and httpx's own "HTTP Request: POST <url>" log line shows only
the origin of a destination URL.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from casedesk import __version__
from casedesk.notify.message import CaseNotice, headline
from casedesk.notify.slack import build_chat_post_message, build_slack_payload
from casedesk.notify.teams import build_teams_payload

KINDS = ("slack", "slack_bot", "teams", "webhook")
SLACK_POST_MESSAGE_URL = "https://slack.com/api/chat.postMessage"
DEFAULT_TIMEOUT = 10.0
BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0
MAX_RETRY_AFTER = 86400.0
RETRY_STATUSES = frozenset({408, 425, 429})
# Slack Web API errors that Slack documents as temporary; every other error is permanent.
SLACK_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_REDACTED = "[redacted]"
_ERROR_LIMIT = 300


@dataclass(frozen=True)
class Destination:
    """Where a notice goes. ``url`` and ``token`` are secrets resolved by the caller from the
    environment; they never appear in ``repr`` or in error text.

    ``slack_bot`` posts with ``token`` to ``channel`` via ``chat.postMessage`` (``url`` defaults
    to Slack's API); the other kinds post to their webhook ``url``.
    """

    id: str
    kind: str
    url: str = field(default="", repr=False)
    token: str | None = field(default=None, repr=False)
    channel: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"destination '{self.id}': kind '{self.kind}' is unknown; use one of "
                + ", ".join(KINDS)
            )
        if self.kind == "slack_bot":
            if not self.token or not self.channel:
                raise ValueError(f"destination '{self.id}': slack_bot needs a token and a channel")
        elif not self.url:
            raise ValueError(f"destination '{self.id}': {self.kind} needs a webhook URL")

    @property
    def endpoint(self) -> str:
        return self.url or SLACK_POST_MESSAGE_URL

    def secrets(self) -> list[str]:
        """Every form in which the URL or token could show up in text, longest first."""
        found: set[str] = set()
        for secret in (self.url, self.token):
            if not secret:
                continue
            found.update({secret, quote(secret, safe=""), quote(secret, safe="/:")})
        if self.url:
            parts = urlsplit(self.url)
            tail = parts.path + (f"?{parts.query}" if parts.query else "")
            if len(tail) > 1:
                found.update({tail, quote(tail, safe="")})
            with contextlib.suppress(httpx.InvalidURL):
                found.add(str(httpx.URL(self.url)))
        return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


@dataclass(frozen=True)
class DeliveryResult:
    """The verdict on one attempt; ``error`` is safe to store and show (no secrets)."""

    ok: bool
    retry: bool
    retry_after: float | None = None
    status: int | None = None
    error: str | None = None


def redact(text: str, destination: Destination) -> str:
    """``text`` with the destination's URL and token (in any encoding) replaced."""
    for secret in destination.secrets():
        text = text.replace(secret, _REDACTED)
    return text


def build_payload(destination: Destination, notice: CaseNotice, dedupe_key: str) -> dict[str, Any]:
    """The JSON body for the destination's kind."""
    if destination.kind == "slack":
        return build_slack_payload(notice)
    if destination.kind == "slack_bot":
        return build_chat_post_message(notice, destination.channel or "")
    if destination.kind == "teams":
        return build_teams_payload(notice)
    return {
        "delivery_id": dedupe_key,
        "event": notice.event,
        "text": f"{headline(notice)} {notice.case_url}",
        "notice": notice.to_dict(),
    }


def build_headers(destination: Destination, notice: CaseNotice, dedupe_key: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"casedesk/{__version__}",
        "Idempotency-Key": dedupe_key,
        "X-Casedesk-Delivery": dedupe_key,
        "X-Casedesk-Event": notice.event,
    }
    if destination.kind == "slack_bot":
        headers["Authorization"] = f"Bearer {destination.token}"
    return headers


def make_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """An httpx client fit for ``deliver``: bounded timeouts, no redirects followed."""
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))


def deliver(
    client: httpx.Client,
    destination: Destination,
    notice: CaseNotice,
    *,
    dedupe_key: str,
    timeout: float | None = None,
) -> DeliveryResult:
    """POST the notice to the destination once; never raises for network or HTTP failures.

    ``dedupe_key`` (stable across retries of the same outbox item) is sent as
    ``Idempotency-Key`` and ``X-Casedesk-Delivery``. ``timeout`` overrides the client's.
    """
    _hide_in_httpx_log(destination)
    body = json.dumps(build_payload(destination, notice, dedupe_key), ensure_ascii=False)
    try:
        response = client.post(
            destination.endpoint,
            content=body.encode("utf-8"),
            headers=build_headers(destination, notice, dedupe_key),
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
        )
    except httpx.TimeoutException as exc:
        return _failed(destination, True, f"timed out ({type(exc).__name__})")
    except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
        return _failed(destination, False, f"invalid request: {exc}")
    except httpx.HTTPError as exc:
        return _failed(destination, True, f"{type(exc).__name__}: {exc}")
    except ValueError as exc:  # e.g. a token with characters no header may carry
        return _failed(destination, False, f"invalid request: {type(exc).__name__}")
    return classify_response(destination, response)


def _failed(
    destination: Destination,
    retry: bool,
    text: str,
    status: int | None = None,
    retry_after: float | None = None,
) -> DeliveryResult:
    clean = redact(f"{destination.id}: {text}", destination)
    clean = re.sub(r"[\x00-\x1f\x7f]+", " ", clean)
    if len(clean) > _ERROR_LIMIT:
        clean = clean[: _ERROR_LIMIT - 1] + "…"
    return DeliveryResult(
        ok=False, retry=retry, retry_after=retry_after, status=status, error=clean
    )


def classify_response(
    destination: Destination, response: httpx.Response, *, now: datetime | None = None
) -> DeliveryResult:
    """The verdict on a response the receiver sent."""
    status = response.status_code
    retry_after = None
    if status in (429, 503) or destination.kind == "slack_bot":
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
    if 200 <= status < 300:
        if destination.kind == "slack_bot":
            return _slack_api_verdict(destination, response, retry_after)
        return DeliveryResult(ok=True, retry=False, status=status)
    snippet = " ".join(response.text[:200].split())
    text = f"HTTP {status} {response.reason_phrase}" + (f": {snippet}" if snippet else "")
    if 300 <= status < 400:
        return _failed(destination, False, f"{text} (redirects are not followed)", status)
    retry = status in RETRY_STATUSES or status >= 500
    return _failed(destination, retry, text, status, retry_after if retry else None)


def _slack_api_verdict(
    destination: Destination, response: httpx.Response, retry_after: float | None
) -> DeliveryResult:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = "Slack answered without a JSON object"
        return _failed(destination, False, text, response.status_code)
    if data.get("ok") is True:
        return DeliveryResult(ok=True, retry=False, status=response.status_code)
    error = str(data.get("error") or "unknown_error")
    retry = error in SLACK_TRANSIENT_ERRORS
    return _failed(
        destination,
        retry,
        f"Slack error: {error}",
        response.status_code,
        retry_after if retry else None,
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    ``None`` when absent or unreadable; never negative; at most ``MAX_RETRY_AFTER``.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": HTTP-dates are always GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Delay before attempt ``attempt + 1`` after attempt ``attempt`` (1-based) failed.

    30 s, 60 s, 120 s … doubling up to one hour; never shorter than the receiver's ``retry_after``.
    """
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    delay = min(BACKOFF_BASE * 2 ** min(attempt - 1, 32), BACKOFF_CAP)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return float(delay)


class _HideSecretUrls(logging.Filter):
    """Shows only the origin of destination URLs in httpx's "HTTP Request: …" INFO line."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 2 and str(args[1]) in self.urls:
            url = httpx.URL(str(args[1]))
            record.args = (args[0], f"{url.scheme}://{url.netloc.decode()}/{_REDACTED}", *args[2:])
        return True


_LOG_FILTER = _HideSecretUrls()
logging.getLogger("httpx").addFilter(_LOG_FILTER)


def _hide_in_httpx_log(destination: Destination) -> None:
    if destination.url:
        with contextlib.suppress(httpx.InvalidURL):
            _LOG_FILTER.urls.add(str(httpx.URL(destination.url)))
