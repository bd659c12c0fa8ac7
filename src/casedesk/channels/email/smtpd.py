"""The inbound SMTP listener (aiosmtpd): mail delivered to casedesk's addresses goes into the
case queue through ``inbound.take``.

Recipients must be one of ``[email] addresses`` (plus-addressing such as
``support+billing@`` included), so the listener is never an open relay; with no addresses
configured it takes mail for anyone (a development set-up). A message is acknowledged with 250
only once it is stored or quarantined; when the database is unreachable the answer is 451, so
the sending server keeps the message and tries again (a retry of a stored message is then a
duplicate and creates nothing new). Messages up to twice ``max_message_bytes`` are accepted so
that oversized mail lands in the quarantine; beyond that the listener refuses them with 552.

``casedesk smtpd`` runs ``run`` (``--processes N``: ``run_processes``, N listeners sharing the
port); ``casedesk serve`` calls ``start_configured`` when ``[email] smtpd.enabled`` is true.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

from casedesk import processes
from casedesk.channels.email.inbound import TemporaryFailure, take
from casedesk.config_email import email_settings
from casedesk.reload import reload_on_hangup

if TYPE_CHECKING:
    from casedesk.context import Context

log = logging.getLogger("casedesk.smtpd")


class IntakeHandler:
    """aiosmtpd handler: checks recipients, hands each message to the intake pipeline."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.addresses = frozenset(email_settings(ctx.config).addresses)

    def accepts(self, address: str) -> bool:
        if not self.addresses:
            return True
        local, _, domain = address.strip().strip("<>").lower().rpartition("@")
        return f"{local.split('+', 1)[0]}@{domain}" in self.addresses or (
            f"{local}@{domain}" in self.addresses
        )

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.accepts(address):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):  # only with decode_data=True, which the listener never sets
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            result = await asyncio.to_thread(take, self.ctx, bytes(raw), source="smtp")
        except TemporaryFailure:
            log.warning("SMTP: message from %s deferred: database unavailable", envelope.mail_from)
            return "451 4.3.0 Temporarily unable to take the message; please try again later"
        except Exception:  # take() quarantines on its own; this is a last resort
            log.exception("SMTP: message from %s deferred by an error", envelope.mail_from)
            return "451 4.3.0 Temporarily unable to take the message; please try again later"
        if result.outcome == "quarantined":
            return f"250 2.0.0 Accepted and held for review (quarantine {result.quarantine_id})"
        return f"250 2.0.0 Accepted ({result.outcome})"


class SharedPortController(Controller):
    """A controller whose socket other ``casedesk smtpd`` processes may bind too
    (``SO_REUSEPORT``): the kernel spreads incoming SMTP sessions across them."""

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker,
            host=self.hostname,
            port=self.port,
            ssl=self.ssl_context,
            reuse_port=True,
        )


def controller(ctx: Context, host: str, port: int, *, shared: bool = False) -> Controller:
    """An unstarted aiosmtpd controller for casedesk's handler on ``host:port``."""
    limit = email_settings(ctx.config).max_message_bytes * 2
    kind = SharedPortController if shared else Controller
    return kind(
        IntakeHandler(ctx),
        hostname=host,
        port=port,
        data_size_limit=limit,
        enable_SMTPUTF8=True,
        decode_data=False,
        ident="casedesk ESMTP",
    )


def start(ctx: Context, host: str, port: int, *, shared: bool = False) -> Controller:
    """Listen on ``host:port`` in a background thread; ``.stop()`` the result to end it."""
    listener = controller(ctx, host, port, shared=shared)
    listener.start()
    log.info("SMTP listener on %s:%s", host, port)
    return listener


def start_configured(ctx: Context) -> Controller | None:
    """Start the listener of ``[email] smtpd`` when it is enabled (``casedesk serve``)."""
    settings = email_settings(ctx.config).smtpd
    if not settings.enabled:
        return None
    return start(ctx, settings.host, settings.port)


def run(ctx: Context, host: str, port: int, *, shared: bool = False) -> None:
    """Serve SMTP on ``host:port`` until interrupted (SIGINT or SIGTERM)."""
    try:
        listener = start(ctx, host, port, shared=shared)
    except Exception as exc:  # aiosmtpd reports a taken port as its own error type
        log.error("SMTP listener cannot start on %s:%s: %s", host, port, exc)
        raise SystemExit(processes.STARTUP_FAILURE) from exc
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    reload_on_hangup(ctx)
    print(f"casedesk SMTP listener on {host}:{port}", flush=True)
    try:
        stop.wait()
    finally:
        listener.stop()


def run_processes(host: str, port: int, count: int) -> None:
    """``count`` listener processes sharing ``host:port`` (``casedesk smtpd --processes``):
    parsing mail is Python work, which one process does on one core at a time."""
    processes.run_processes(host, port, _process_main, (host, port), count)


def _process_main(host: str, port: int) -> None:
    from casedesk.context import Context

    run(Context.from_settings(), host, port, shared=True)
