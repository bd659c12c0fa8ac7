"""E-mail intake settings: the [email] section (except ``outbound``, which ``config_notify``
parses because notifications and customer mail leave through the same SMTP server).

``check`` returns every problem, located in the file, for ``casedesk config check`` and
start-up; ``email_settings`` gives the parsed settings, computed once per config object.

```toml
[email]
addresses = ["support@example.com"]        # mail to these opens or threads cases
smtpd = { host = "127.0.0.1", port = 2525, enabled = false }
imap = [{ host = "imap.example.com", port = 993, user = "support",
          password_env = "CASEDESK_IMAP_PASSWORD", tls = true, folder = "INBOX",
          interval = "60s", idle = true }]
inbound_webhook = { secret_env = "CASEDESK_EMAIL_WEBHOOK_SECRET", tolerance = "5m" }
outbound = { host = "127.0.0.1", port = 25, from = "support@example.com" }
acknowledgement = { enabled = true, subject = "...", body = "..." }
limits = { max_message_bytes = 26214400, max_attachment_bytes = 10485760 }
rate_limit = { messages = 30, per = "1h" }  # per sender; over it, mail is quarantined
```
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from casedesk.config_cache import per_config
from casedesk.config_locate import locate
from casedesk.config_values import check_port, env_name_of, flag_of, seconds_of, table_of
from casedesk.domain.lifecycle import Problem

if TYPE_CHECKING:
    from casedesk.config import AppConfig, ConfigProblem

EMAIL_KEYS = (
    "addresses",
    "smtpd",
    "imap",
    "inbound_webhook",
    "outbound",
    "acknowledgement",
    "limits",
    "rate_limit",
)
ACK_FIELDS = ("ticket_id", "subject", "customer_name", "customer_email", "case_url")
DEFAULT_ACK_SUBJECT = "[$ticket_id] We received your message: $subject"
DEFAULT_ACK_BODY = """\
Hello $customer_name,

thank you for contacting us. Your request has been received and given the ticket ID \
$ticket_id; a member of our team will get back to you soon.

To add anything, simply reply to this e-mail and keep $ticket_id in the subject.
"""
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class SmtpdSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 2525


@dataclass(frozen=True)
class ImapMailbox:
    """One mailbox to watch (IDLE) or poll; the password is read from ``password_env`` when
    connecting."""

    host: str
    user: str
    password_env: str
    port: int = 993
    tls: bool = True  # implicit TLS (IMAPS); else ``starttls`` or plain (loopback only)
    starttls: bool = False
    folder: str = "INBOX"
    interval: float = 60.0  # the poll; with ``idle``, the safety poll beside IDLE
    ca_file: str | None = None  # extra CA bundle, e.g. for a self-signed server certificate
    idle: bool = True  # hold a connection in IMAP IDLE to take mail as it arrives

    @property
    def key(self) -> str:
        """The mailbox's identity in the poll-state table."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"[:300]


@dataclass(frozen=True)
class WebhookSettings:
    secret_env: str
    tolerance: float = 300.0  # seconds a signed timestamp stays acceptable


@dataclass(frozen=True)
class AckSettings:
    enabled: bool = True
    subject: str = DEFAULT_ACK_SUBJECT
    body: str = DEFAULT_ACK_BODY


@dataclass(frozen=True)
class EmailSettings:
    addresses: tuple[str, ...] = ()
    smtpd: SmtpdSettings = SmtpdSettings()
    imap: tuple[ImapMailbox, ...] = ()
    webhook: WebhookSettings | None = None
    acknowledgement: AckSettings = AckSettings()
    max_message_bytes: int = 25 * 1024 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024
    rate_messages: int = 30  # messages one sender may send …
    rate_per: float = 3600.0  # … per this many seconds before the rest is quarantined


def parse(config: AppConfig) -> tuple[EmailSettings, list[Problem]]:
    problems: list[Problem] = []
    raw = config.email
    for key in raw:
        if key not in EMAIL_KEYS:
            problems.append(
                Problem(("email", key), f"unknown key {key!r}; use {', '.join(EMAIL_KEYS)}")
            )
    kw: dict[str, Any] = {
        "addresses": _addresses(raw.get("addresses", []), problems),
        "smtpd": _smtpd(raw.get("smtpd", {}), problems),
        "imap": _imap(raw.get("imap", []), problems),
        "webhook": _webhook(raw.get("inbound_webhook"), problems),
        "acknowledgement": _ack(raw.get("acknowledgement", {}), problems),
    }
    kw.update(_limits(raw.get("limits", {}), problems))
    kw.update(_rate(raw.get("rate_limit", {}), problems))
    return EmailSettings(**kw), problems


@per_config
def email_settings(config: AppConfig) -> EmailSettings:
    """Parsed [email] settings; ``ValueError`` for a config ``check`` would refuse."""
    settings, problems = parse(config)
    if problems:
        raise ValueError("; ".join(f"{p.path}: {p.message}" for p in problems))
    return settings


def check(text: str, config: AppConfig) -> list[ConfigProblem]:
    from casedesk.config import ConfigProblem
    from casedesk.config_sla import _dotted

    _, problems = parse(config)
    return [ConfigProblem(*locate(text, p.path), _dotted(p.path), p.message) for p in problems]


# -- sections -----------------------------------------------------------------------------------


def _addresses(raw: Any, problems: list[Problem]) -> tuple[str, ...]:
    raw = [raw] if isinstance(raw, str) else raw
    if not isinstance(raw, list):
        problems.append(Problem(("email", "addresses"), "give a list of e-mail addresses"))
        return ()
    out = []
    for i, value in enumerate(raw):
        if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
            problems.append(Problem(("email", "addresses", i), f"{value!r} is not an address"))
            continue
        out.append(value.strip().lower())
    return tuple(dict.fromkeys(out))


def _smtpd(raw: Any, problems: list[Problem]) -> SmtpdSettings:
    path: Path = ("email", "smtpd")
    v = table_of(raw, path, ("enabled", "host", "port"), problems)
    kw: dict[str, Any] = {}
    if flag_of(v, "enabled", path, problems) is not None:
        kw["enabled"] = v["enabled"]
    if "host" in v:
        if isinstance(v["host"], str) and v["host"].strip():
            kw["host"] = v["host"].strip()
        else:
            problems.append(Problem((*path, "host"), "give the address to listen on"))
    if "port" in v and check_port(v["port"], (*path, "port"), problems):
        kw["port"] = v["port"]
    return SmtpdSettings(**kw)


_IMAP_KEYS = (
    "host",
    "port",
    "user",
    "password_env",
    "tls",
    "starttls",
    "folder",
    "interval",
    "ca_file",
    "idle",
)


def _imap(raw: Any, problems: list[Problem]) -> tuple[ImapMailbox, ...]:
    raw = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(raw, list):
        problems.append(Problem(("email", "imap"), "give mailboxes as [[email.imap]] tables"))
        return ()
    out: list[ImapMailbox] = []
    for i, item in enumerate(raw):
        path: Path = ("email", "imap", i)
        before = len(problems)
        v = table_of(item, path, _IMAP_KEYS, problems)
        if not v and not isinstance(item, Mapping):
            continue
        for key in ("host", "user"):
            if not isinstance(v.get(key), str) or not v[key].strip():
                problems.append(Problem((*path, key), f"give the IMAP {key}"))
        password_env = env_name_of(v, "password_env", path, problems)
        tls = flag_of(v, "tls", path, problems)
        starttls = flag_of(v, "starttls", path, problems)
        if tls is None:
            tls = not starttls
        if tls and starttls:
            problems.append(Problem((*path, "tls"), "use tls (993) or starttls (143), not both"))
        port = v.get("port", 993 if tls else 143)
        check_port(port, (*path, "port"), problems)
        folder = v.get("folder", "INBOX")
        if not isinstance(folder, str) or not folder.strip():
            problems.append(Problem((*path, "folder"), "give the folder to read, e.g. INBOX"))
        interval = 60.0
        if "interval" in v:
            interval = (
                seconds_of(
                    v["interval"],
                    (*path, "interval"),
                    timedelta(seconds=5),
                    timedelta(days=1),
                    problems,
                )
                or 60.0
            )
        ca_file = v.get("ca_file")
        if ca_file is not None and not isinstance(ca_file, str):
            problems.append(Problem((*path, "ca_file"), "give the path of a PEM file"))
        idle = flag_of(v, "idle", path, problems)
        if len(problems) > before or password_env is None:
            continue
        out.append(
            ImapMailbox(
                host=v["host"].strip(),
                user=v["user"].strip(),
                password_env=password_env,
                port=port,
                tls=bool(tls),
                starttls=bool(starttls),
                folder=folder.strip(),
                interval=interval,
                ca_file=ca_file,
                idle=True if idle is None else idle,
            )
        )
    keys = [m.key for m in out]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            problems.append(Problem(("email", "imap", i), f"mailbox {key} is listed twice"))
    return tuple(dict.fromkeys(out))


def _webhook(raw: Any, problems: list[Problem]) -> WebhookSettings | None:
    if raw is None:
        return None
    path: Path = ("email", "inbound_webhook")
    v = table_of(raw, path, ("secret_env", "tolerance"), problems)
    secret_env = env_name_of(v, "secret_env", path, problems)
    tolerance = 300.0
    if "tolerance" in v:
        tolerance = (
            seconds_of(
                v["tolerance"],
                (*path, "tolerance"),
                timedelta(seconds=10),
                timedelta(hours=1),
                problems,
            )
            or 300.0
        )
    return WebhookSettings(secret_env, tolerance) if secret_env else None


def _ack(raw: Any, problems: list[Problem]) -> AckSettings:
    path: Path = ("email", "acknowledgement")
    v = table_of(raw, path, ("enabled", "subject", "body"), problems)
    kw: dict[str, Any] = {}
    if flag_of(v, "enabled", path, problems) is not None:
        kw["enabled"] = v["enabled"]
    for key in ("subject", "body"):
        if key not in v:
            continue
        value = v[key]
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem((*path, key), "give the template text"))
            continue
        unknown = _unknown_fields(value)
        if unknown:
            problems.append(
                Problem(
                    (*path, key),
                    f"unknown placeholder ${unknown[0]}; use "
                    + ", ".join(f"${f}" for f in ACK_FIELDS),
                )
            )
            continue
        kw[key] = value
    return AckSettings(**kw)


def _unknown_fields(template: str) -> list[str]:
    try:
        names = [
            m.group("named") or m.group("braced")
            for m in string.Template.pattern.finditer(template)
            if m.group("named") or m.group("braced")
        ]
    except ValueError:
        return ["(bad placeholder)"]
    if any(m.group("invalid") is not None for m in string.Template.pattern.finditer(template)):
        return ["(a lone $; write $$ for a dollar sign)"]
    return [n for n in names if n not in ACK_FIELDS]


def _limits(raw: Any, problems: list[Problem]) -> dict[str, int]:
    path: Path = ("email", "limits")
    v = table_of(raw, path, ("max_message_bytes", "max_attachment_bytes"), problems)
    out: dict[str, int] = {}
    for key, high in (("max_message_bytes", 200 * 2**20), ("max_attachment_bytes", 100 * 2**20)):
        if key not in v:
            continue
        value = v[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 1024 <= value <= high:
            problems.append(Problem((*path, key), f"give a number of bytes from 1024 to {high}"))
            continue
        out[key] = value
    return out


def _rate(raw: Any, problems: list[Problem]) -> dict[str, Any]:
    path: Path = ("email", "rate_limit")
    v = table_of(raw, path, ("messages", "per"), problems)
    out: dict[str, Any] = {}
    messages = v.get("messages")
    if messages is not None:
        if isinstance(messages, bool) or not isinstance(messages, int) or messages < 1:
            problems.append(Problem((*path, "messages"), "give a whole number of at least 1"))
        else:
            out["rate_messages"] = messages
    if "per" in v:
        per = seconds_of(
            v["per"], (*path, "per"), timedelta(seconds=1), timedelta(days=1), problems
        )
        if per:
            out["rate_per"] = per
    return out
