"""Channel intake settings: [email], [phone], [chat], [portal].

``check`` returns every problem of these sections, located in the file, for
``casedesk config check`` and start-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from casedesk.config_cache import per_config
from casedesk.config_locate import locate
from casedesk.domain.durations import parse_duration
from casedesk.domain.lifecycle import Problem

if TYPE_CHECKING:
    from casedesk.config import AppConfig, ConfigProblem


def check(text: str, config: AppConfig) -> list[ConfigProblem]:
    from casedesk import config_email  # [email] lives in its own module

    return config_email.check(text, config) + check_live(text, config)


# -- [chat], [phone], [portal]: the live channels -----------------------------------------------
# Parsed once per config (``chat_settings`` …); ``check_live`` reports every problem, located.

_LivePath = tuple[str | int, ...]


@dataclass(frozen=True)
class ChatSettings:
    enabled: bool = True
    max_message_chars: int = 4000
    rate_messages: int = 8  # a visitor may send this many messages …
    rate_per: float = 10.0  # … per this many seconds (a token bucket per connection)
    allowed_origins: tuple[str, ...] = ()  # sites that may embed the widget; empty: any
    poll_interval: float = 1.0  # seconds between the bus's checks for replies made elsewhere
    session_lifetime: timedelta = timedelta(days=30)
    history: int = 200  # messages replayed to a visitor who (re)connects
    max_file_bytes: int = 10 * 1024 * 1024  # per file a visitor sends; 0 turns files off
    email_when_away: bool = True  # public replies reach a visitor who left the page by e-mail


@dataclass(frozen=True)
class PhoneSettings:
    default_region: str | None = None  # for numbers written without a country code
    auth_token_env: str = "CASEDESK_TWILIO_AUTH_TOKEN"
    webhook_url: str | None = None  # the public URL Twilio calls, when behind a proxy
    missed_calls: bool = True  # unanswered inbound calls open or join a case too


@dataclass(frozen=True)
class PortalSettings:
    enabled: bool = True
    link_ttl: timedelta = timedelta(minutes=15)
    open_signup: bool = True  # anyone who proves an e-mail address may submit cases
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 5
    sender: str | None = None  # From of sign-in mails; default [email.outbound] from


_LIVE_KEYS: dict[str, dict[str, tuple[type | tuple[type, ...], str]]] = {
    "chat": {
        "enabled": (bool, "true or false"),
        "max_message_chars": (int, "a whole number from 1 to 100000"),
        "rate_limit": (dict, '{ messages = 8, per = "10s" }'),
        "allowed_origins": (list, 'a list like ["https://www.example.com"]'),
        "poll_interval": ((int, float), "seconds, from 0.1 to 60"),
        "session_lifetime": (str, 'a duration such as "30d"'),
        "history": (int, "a whole number from 0 to 1000"),
        "max_file_bytes": (int, "a whole number of bytes, at most 50 MiB (0: no files)"),
        "email_when_away": (bool, "true or false"),
    },
    "phone": {
        "default_region": (str, 'a two-letter region such as "GB"'),
        "twilio": (dict, "a [phone.twilio] table"),
    },
    "portal": {
        "enabled": (bool, "true or false"),
        "link_ttl": (str, 'a duration from 1m to 1d, such as "15m"'),
        "open_signup": (bool, "true or false"),
        "max_attachment_bytes": (int, "a whole number of bytes, at most 50 MiB"),
        "max_attachments": (int, "a whole number from 0 to 20"),
        "from": (str, "an e-mail address"),
    },
}
_TWILIO_KEYS = {"auth_token_env": str, "webhook_url": str, "missed_calls": bool}


def _live_values(section: str, raw: Any, problems: list[Problem]) -> dict[str, Any]:
    """The known, well-typed keys of ``[section]``; the rest reported."""
    if not isinstance(raw, dict):
        problems.append(Problem((section,), f"[{section}] must be a table"))
        return {}
    out: dict[str, Any] = {}
    known = _LIVE_KEYS[section]
    for key, value in raw.items():
        if key not in known:
            problems.append(Problem((section, key), f"unknown key {key!r}; use {', '.join(known)}"))
            continue
        kind, hint = known[key]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            problems.append(Problem((section, key), f"give {hint}"))
            continue
        out[key] = value
    return out


def _live_duration(
    value: str, path: _LivePath, low: timedelta, high: timedelta, problems: list[Problem]
) -> timedelta | None:
    try:
        parsed = parse_duration(value)
    except ValueError as exc:
        problems.append(Problem(path, str(exc)))
        return None
    if not low <= parsed <= high:
        problems.append(Problem(path, f"give a duration between {low} and {high}"))
        return None
    return parsed


def _live_bounded(
    values: dict[str, Any],
    key: str,
    low: float,
    high: float,
    path: _LivePath,
    problems: list[Problem],
) -> None:
    if key in values and not low <= values[key] <= high:
        problems.append(Problem((*path, key), f"give a number from {low:g} to {high:g}"))
        del values[key]


def parse_chat(config: AppConfig) -> tuple[ChatSettings, list[Problem]]:
    problems: list[Problem] = []
    v = _live_values("chat", config.chat, problems)
    _live_bounded(v, "max_message_chars", 1, 100_000, ("chat",), problems)
    _live_bounded(v, "poll_interval", 0.1, 60, ("chat",), problems)
    _live_bounded(v, "history", 0, 1000, ("chat",), problems)
    _live_bounded(v, "max_file_bytes", 0, 50 * 1024 * 1024, ("chat",), problems)
    kw: dict[str, Any] = {
        k: v[k]
        for k in ("enabled", "max_message_chars", "history", "max_file_bytes", "email_when_away")
        if k in v
    }
    if "poll_interval" in v:
        kw["poll_interval"] = float(v["poll_interval"])
    if "session_lifetime" in v:
        lifetime = _live_duration(
            v["session_lifetime"],
            ("chat", "session_lifetime"),
            timedelta(hours=1),
            timedelta(days=365),
            problems,
        )
        if lifetime:
            kw["session_lifetime"] = lifetime
    rate = v.get("rate_limit", {})
    messages, per = rate.get("messages", 8), rate.get("per", "10s")
    if (
        set(rate) - {"messages", "per"}
        or isinstance(messages, bool)
        or not isinstance(messages, int)
        or not 1 <= messages <= 1000
        or not isinstance(per, str)
    ):
        problems.append(Problem(("chat", "rate_limit"), 'give { messages = 1..1000, per = "10s" }'))
    elif window := _live_duration(
        per, ("chat", "rate_limit", "per"), timedelta(seconds=1), timedelta(hours=1), problems
    ):
        kw["rate_messages"], kw["rate_per"] = messages, window.total_seconds()
    origins = v.get("allowed_origins", [])
    for i, origin in enumerate(origins):
        if not isinstance(origin, str) or not re.match(r"^https?://[^/\s]+$", origin):
            problems.append(
                Problem(("chat", "allowed_origins", i), "give an origin like https://example.com")
            )
    kw["allowed_origins"] = tuple(o.lower() for o in origins if isinstance(o, str))
    return ChatSettings(**kw), problems


def parse_phone(config: AppConfig) -> tuple[PhoneSettings, list[Problem]]:
    import phonenumbers

    problems: list[Problem] = []
    raw = {k: v for k, v in config.phone.items() if k != "twilio"}
    v = _live_values("phone", raw, problems)
    kw: dict[str, Any] = {}
    region = v.get("default_region")
    if region is not None:
        if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(Problem(("phone", "default_region"), f"unknown region {region!r}"))
        else:
            kw["default_region"] = region.upper()
    twilio = config.phone.get("twilio", {})
    if not isinstance(twilio, dict):
        problems.append(Problem(("phone", "twilio"), "[phone.twilio] must be a table"))
        twilio = {}
    for key, value in twilio.items():
        path = ("phone", "twilio", key)
        kind = _TWILIO_KEYS.get(key)
        if kind is None:
            problems.append(Problem(path, f"unknown key {key!r}; use {', '.join(_TWILIO_KEYS)}"))
        elif not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            problems.append(Problem(path, f"give a {kind.__name__}"))
        elif key == "auth_token_env" and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(value)):
            problems.append(Problem(path, "give the NAME of an environment variable"))
        elif key == "webhook_url" and not re.match(r"^https?://[^/\s]+/\S*$", str(value)):
            problems.append(Problem(path, "give the full public URL Twilio calls"))
        else:
            kw[key] = value
    return PhoneSettings(**kw), problems


def parse_portal(config: AppConfig) -> tuple[PortalSettings, list[Problem]]:
    problems: list[Problem] = []
    v = _live_values("portal", config.portal, problems)
    _live_bounded(v, "max_attachment_bytes", 0, 50 * 1024 * 1024, ("portal",), problems)
    _live_bounded(v, "max_attachments", 0, 20, ("portal",), problems)
    keys = ("enabled", "open_signup", "max_attachment_bytes", "max_attachments")
    kw: dict[str, Any] = {k: v[k] for k in keys if k in v}
    if "link_ttl" in v:
        ttl = _live_duration(
            v["link_ttl"],
            ("portal", "link_ttl"),
            timedelta(minutes=1),
            timedelta(days=1),
            problems,
        )
        if ttl:
            kw["link_ttl"] = ttl
    sender = v.get("from")
    if sender is not None:
        if re.match(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", sender.strip()):
            kw["sender"] = sender.strip()
        else:
            problems.append(Problem(("portal", "from"), f"{sender!r} is not an e-mail address"))
    return PortalSettings(**kw), problems


def _live_settings(parse: Any) -> Any:
    def settings(config: AppConfig) -> Any:
        value, problems = parse(config)
        if problems:
            raise ValueError("; ".join(f"{p.path}: {p.message}" for p in problems))
        return value

    return per_config(settings)


chat_settings: Callable[[AppConfig], ChatSettings] = _live_settings(parse_chat)
phone_settings: Callable[[AppConfig], PhoneSettings] = _live_settings(parse_phone)
portal_settings: Callable[[AppConfig], PortalSettings] = _live_settings(parse_portal)


def check_live(text: str, config: AppConfig) -> list[ConfigProblem]:
    """Problems of [chat], [phone] and [portal], located in ``text``."""
    from casedesk.config import ConfigProblem
    from casedesk.config_sla import _dotted

    found: list[Problem] = []
    for parse in (parse_chat, parse_phone, parse_portal):
        found += parse(config)[1]
    return [ConfigProblem(*locate(text, p.path), _dotted(p.path), p.message) for p in found]
