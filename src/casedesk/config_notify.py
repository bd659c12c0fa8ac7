"""Notification settings: [notify], [[notify.destinations]] and [[notify.routes]].

``check`` returns every problem of these sections, located in the file, for
``casedesk config check`` and start-up. ``notify_settings`` gives the parsed destinations, routes
and delivery limits, computed once per config object.

Secrets are never in the file: a destination names the environment variables holding its webhook
URL or bot token, read when a message is delivered.

```toml
[notify]
max_attempts = 12          # then the notification is a dead letter
timeout = "10s"            # per HTTP or SMTP attempt

[[notify.destinations]]
id = "slack-support"
kind = "slack"             # slack | teams | webhook | email
webhook_url_env = "CASEDESK_SLACK_WEBHOOK"

[[notify.destinations]]
id = "leads-mail"
kind = "email"
to = ["leads@example.com"]
assignee = true            # also the case's assignee
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from casedesk.config_cache import per_config
from casedesk.config_locate import locate
from casedesk.domain.durations import parse_duration
from casedesk.domain.lifecycle import Problem
from casedesk.domain.routing import Route, routes_from_config

if TYPE_CHECKING:
    from casedesk.config import AppConfig, ConfigProblem

KINDS = ("slack", "teams", "webhook", "email")
NOTIFY_KEYS = ("destinations", "routes", "max_attempts", "timeout")
_COMMON = ("id", "kind", "name")
DESTINATION_KEYS = {
    "slack": (*_COMMON, "webhook_url_env", "token_env", "channel"),
    "teams": (*_COMMON, "webhook_url_env"),
    "webhook": (*_COMMON, "webhook_url_env"),
    "email": (*_COMMON, "to", "assignee", "team_leads"),
}
DEFAULT_MAX_ATTEMPTS = 12
DEFAULT_TIMEOUT = 10.0
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
_ROUTE_PATH = re.compile(r"^notify\.routes\[\d+\]((?:\.[a-z_]+)*)\s*:\s*(.*)$", re.S)
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class DestinationConfig:
    """A destination as configured: where its secrets are, never the secrets themselves."""

    id: str
    kind: str
    webhook_url_env: str | None = None
    token_env: str | None = None
    channel: str | None = None
    to: tuple[str, ...] = ()
    assignee: bool = False
    team_leads: bool = False

    @property
    def delivery_kind(self) -> str:
        """The kind ``notify.delivery`` knows: a Slack bot posts with ``chat.postMessage``."""
        return "slack_bot" if self.kind == "slack" and self.token_env else self.kind


@dataclass(frozen=True)
class OutboundSettings:
    """How casedesk sends e-mail (``[email.outbound]``); credentials come from the environment."""

    host: str
    port: int = 25
    sender: str = "casedesk@localhost"
    starttls: bool = False
    tls: bool = False
    username_env: str | None = None
    password_env: str | None = None
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class NotifySettings:
    destinations: Mapping[str, DestinationConfig]
    routes: tuple[Route, ...]
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    timeout: float = DEFAULT_TIMEOUT
    outbound: OutboundSettings | None = None


def destination_ids(config: AppConfig) -> list[str]:
    """Ids of the configured destinations (for other sections' checks)."""
    items = config.notify.get("destinations")
    if not isinstance(items, list):
        return []
    return [d["id"] for d in items if isinstance(d, Mapping) and isinstance(d.get("id"), str)]


def parse(config: AppConfig) -> tuple[NotifySettings, list[Problem]]:
    problems: list[Problem] = []
    raw = config.notify
    for key in raw:
        if key not in NOTIFY_KEYS:
            problems.append(
                Problem(("notify", key), f"unknown key {key!r}; use {', '.join(NOTIFY_KEYS)}")
            )
    destinations = _destinations(raw.get("destinations", []), problems)
    routes = _routes(raw.get("routes", []), list(destinations), problems)
    max_attempts = raw.get("max_attempts", DEFAULT_MAX_ATTEMPTS)
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        problems.append(Problem(("notify", "max_attempts"), "give a whole number of at least 1"))
        max_attempts = DEFAULT_MAX_ATTEMPTS
    timeout = _seconds(raw.get("timeout"), ("notify", "timeout"), problems)
    outbound = None
    if any(d.kind == "email" for d in destinations.values()) or "outbound" in config.email:
        outbound = _outbound(config, destinations, problems)
    return (
        NotifySettings(destinations, tuple(routes), max_attempts, timeout, outbound),
        problems,
    )


@per_config
def notify_settings(config: AppConfig) -> NotifySettings:
    """Parsed notification settings; ``ValueError`` for a config ``check`` would refuse."""
    settings, problems = parse(config)
    if problems:
        raise ValueError("; ".join(f"{p.path}: {p.message}" for p in problems))
    return settings


def check(text: str, config: AppConfig) -> list[ConfigProblem]:
    from casedesk.config import ConfigProblem
    from casedesk.config_sla import _dotted

    _, problems = parse(config)
    return [ConfigProblem(*locate(text, p.path), _dotted(p.path), p.message) for p in problems]


def _seconds(raw: Any, path: Path, problems: list[Problem]) -> float:
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = parse_duration(raw) if isinstance(raw, str) else timedelta(seconds=float(raw))
    except (ValueError, TypeError):
        problems.append(Problem(path, 'give a duration such as "10s"'))
        return DEFAULT_TIMEOUT
    if not timedelta(0) < value <= timedelta(minutes=5):
        problems.append(Problem(path, "give a timeout between 1s and 5m"))
        return DEFAULT_TIMEOUT
    return value.total_seconds()


def _destinations(raw: Any, problems: list[Problem]) -> dict[str, DestinationConfig]:
    base: Path = ("notify", "destinations")
    if not isinstance(raw, list):
        problems.append(Problem(base, "give destinations as [[notify.destinations]] tables"))
        return {}
    found: dict[str, DestinationConfig] = {}
    for i, item in enumerate(raw):
        path = (*base, i)
        if not isinstance(item, Mapping):
            problems.append(Problem(path, "a destination is a table with id and kind"))
            continue
        dest = _destination(item, path, problems)
        if dest is None:
            continue
        if dest.id in found:
            problems.append(Problem((*path, "id"), f"destination {dest.id!r} is defined twice"))
            continue
        found[dest.id] = dest
    return found


def _destination(
    item: Mapping[str, Any], path: Path, problems: list[Problem]
) -> DestinationConfig | None:
    dest_id, kind = item.get("id"), item.get("kind")
    if not isinstance(dest_id, str) or not _ID.match(dest_id):
        problems.append(Problem((*path, "id"), 'give an id of letters, digits, "-", "_" or "."'))
        return None
    if kind not in KINDS:
        problems.append(
            Problem((*path, "kind"), f"kind {kind!r} is unknown; use {', '.join(KINDS)}")
        )
        return None
    for key in item:
        if key not in DESTINATION_KEYS[kind]:
            hint = ", ".join(DESTINATION_KEYS[kind])
            if key in ("webhook_url", "token", "url", "password"):
                hint = f"secrets stay out of the file: name an environment variable with {key}_env"
            problems.append(Problem((*path, key), f"unknown key {key!r} for kind {kind}; {hint}"))
    envs = {k: item.get(k) for k in ("webhook_url_env", "token_env") if item.get(k) is not None}
    for key, value in envs.items():
        if not isinstance(value, str) or not _ENV.match(value):
            problems.append(Problem((*path, key), "name an environment variable, e.g. CASEDESK_X"))
    channel = item.get("channel")
    if kind == "slack" and "token_env" in envs and not isinstance(channel, str):
        problems.append(Problem(path, "a Slack bot (token_env) needs the channel to post to"))
    if kind in ("slack", "teams", "webhook") and not envs:
        problems.append(
            Problem(path, "name the variable holding the webhook URL with webhook_url_env")
        )
    to = item.get("to", [])
    to = [to] if isinstance(to, str) else to
    if kind == "email":
        if not isinstance(to, list) or not all(isinstance(a, str) and "@" in a for a in to):
            problems.append(Problem((*path, "to"), "to is a list of e-mail addresses"))
            to = []
        if not (to or item.get("assignee") or item.get("team_leads")):
            problems.append(
                Problem(path, "say who gets the e-mail: to, assignee = true or team_leads = true")
            )
    return DestinationConfig(
        id=dest_id,
        kind=kind,
        webhook_url_env=envs.get("webhook_url_env"),
        token_env=envs.get("token_env"),
        channel=channel if isinstance(channel, str) else None,
        to=tuple(str(a).strip() for a in to),
        assignee=item.get("assignee") is True,
        team_leads=item.get("team_leads") is True,
    )


def _routes(raw: Any, known: list[str], problems: list[Problem]) -> list[Route]:
    if not isinstance(raw, list):
        problems.append(Problem(("notify", "routes"), "give routes as [[notify.routes]] tables"))
        return []
    routes = []
    for i, item in enumerate(raw):
        try:
            routes += routes_from_config([item], known_destinations=known)
        except ValueError as exc:
            problems.append(_route_problem(i, str(exc)))
    return routes


def _route_problem(index: int, message: str) -> Problem:
    """``routing`` names the place in its message (``notify.routes[0].to: …``): make it a path."""
    match = _ROUTE_PATH.match(message)
    if match is None:
        return Problem(("notify", "routes", index), message)
    keys = [k for k in match.group(1).split(".") if k]
    return Problem(("notify", "routes", index, *keys), match.group(2))


def _outbound(
    config: AppConfig, destinations: Mapping[str, DestinationConfig], problems: list[Problem]
) -> OutboundSettings | None:
    raw = config.email.get("outbound")
    needed = [d.id for d in destinations.values() if d.kind == "email"]
    if not isinstance(raw, Mapping):
        if needed:
            problems.append(
                Problem(
                    ("email", "outbound"),
                    f"e-mail destinations ({', '.join(needed)}) need [email.outbound] with "
                    "host, port and from",
                )
            )
        return None
    path: Path = ("email", "outbound")
    host, port, sender = raw.get("host"), raw.get("port", 25), raw.get("from")
    before = len(problems)
    if not isinstance(host, str) or not host.strip():
        problems.append(Problem((*path, "host"), "give the SMTP server's host name"))
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        problems.append(Problem((*path, "port"), "give a TCP port, e.g. 587"))
    if sender is not None and (not isinstance(sender, str) or "@" not in sender):
        problems.append(
            Problem((*path, "from"), "give the sender address, e.g. support@example.com")
        )
    for key in ("username_env", "password_env"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not _ENV.match(value)):
            problems.append(Problem((*path, key), "name an environment variable"))
    if raw.get("starttls") is True and raw.get("tls") is True:
        problems.append(
            Problem((*path, "tls"), "use starttls (port 587) or tls (port 465), not both")
        )
    if len(problems) > before:
        return None
    return OutboundSettings(
        host=str(host).strip(),
        port=int(port),
        sender=sender or "casedesk@localhost",
        starttls=raw.get("starttls") is True,
        tls=raw.get("tls") is True,
        username_env=raw.get("username_env"),
        password_env=raw.get("password_env"),
        timeout=_seconds(raw.get("timeout"), (*path, "timeout"), problems),
    )


def outbound_settings(config: AppConfig) -> OutboundSettings | None:
    """``[email.outbound]`` of ``config`` (``None`` when absent), for anything sending e-mail."""
    return notify_settings(config).outbound
