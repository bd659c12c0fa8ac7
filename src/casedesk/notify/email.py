"""Send e-mail over SMTP (``[email.outbound]``) and say whether to retry, like ``delivery``.

``send_message`` sends one ``email.message.EmailMessage`` and returns a ``DeliveryResult``, so
any outbox item that is an e-mail (a notification to agents and leads, or a reply to a customer)
is delivered and retried the same way as a Slack or Teams post:

- ``ok``: the server accepted the message for at least one recipient;
- ``retry``: a transient failure (connection refused or lost, timeout, SMTP 4xx);
- neither: a permanent failure (SMTP 5xx, every recipient refused, bad credentials).

The password is read from the environment at send time and never appears in errors.
``SmtpSession`` keeps one connection open for several messages.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from types import TracebackType

from casedesk.config_notify import OutboundSettings
from casedesk.notify.delivery import DeliveryResult
from casedesk.notify.message import CaseNotice, format_due, headline

_ERROR_LIMIT = 300


def _result(ok: bool, retry: bool, text: str | None, status: int | None = None) -> DeliveryResult:
    if text is not None:
        text = re.sub(r"[\x00-\x1f\x7f]+", " ", text)[:_ERROR_LIMIT]
    return DeliveryResult(ok=ok, retry=retry, status=status, error=text)


def _reply_text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SmtpSession:
    """One SMTP connection (TLS, STARTTLS and login as configured) for several messages."""

    def __init__(self, settings: OutboundSettings, *, timeout: float | None = None) -> None:
        self.settings = settings
        self.timeout = timeout or settings.timeout
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            user = os.environ.get(s.username_env) if s.username_env else None
            password = os.environ.get(s.password_env) if s.password_env else None
            if user and password is not None:
                smtp.login(user, password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> DeliveryResult:
        """Send ``message`` (its From, To, Cc and Bcc headers name the envelope)."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            retry = any(400 <= c < 500 for c in codes)
            return _result(False, retry, f"every recipient refused: {_codes(exc.recipients)}")
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            return _result(False, False, f"SMTP login refused ({exc.smtp_code})", exc.smtp_code)
        except smtplib.SMTPResponseException as exc:
            self.close()
            code = exc.smtp_code
            text = f"SMTP {code}: {_reply_text(exc.smtp_error)}"
            return _result(False, 400 <= code < 500 or code == -1, text, code)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return _result(False, True, f"{type(exc).__name__}: {exc}")
        if refused:
            return _result(True, False, f"some recipients refused: {_codes(refused)}")
        return _result(True, False, None)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def _codes(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{addr} ({code})" for addr, (code, _) in sorted(refused.items()))


def send_message(
    settings: OutboundSettings, message: EmailMessage, *, timeout: float | None = None
) -> DeliveryResult:
    """Send one message on a connection of its own; never raises for network or SMTP errors."""
    with SmtpSession(settings, timeout=timeout) as session:
        return session.send(message)


def build_notice_email(
    notice: CaseNotice, *, sender: str, to: list[str], dedupe_key: str
) -> EmailMessage:
    """A plain-text e-mail to agents or leads about a case; the Message-ID derives from the
    outbox de-duplication key, so a retried send is recognisable as the same message."""
    msg = EmailMessage()
    msg["Subject"] = f"[{notice.ticket_id}] {headline(notice)}"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    domain = sender.rpartition("@")[2] or "casedesk.local"
    msg["Message-ID"] = f"<{digest}@{domain}>" if domain else make_msgid()
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    msg["X-Casedesk-Event"] = notice.event
    facts = [
        ("Case", notice.ticket_id),
        ("Subject", notice.subject),
        ("Priority", notice.priority),
        ("Status", notice.status),
        ("SLA due", format_due(notice.sla_due) if notice.sla_due else None),
        ("Customer", notice.customer),
        ("Assignee", notice.assignee or "unassigned"),
        ("Team", notice.team),
        ("Channel", notice.channel),
    ]
    lines = [headline(notice), ""]
    lines += [f"{label + ':':<10} {value}" for label, value in facts if value]
    if notice.detail:
        lines += ["", notice.detail]
    lines += ["", f"Open it: {notice.case_url}", ""]
    msg.set_content("\n".join(lines))
    return msg
