"""Re-reading the config file on SIGHUP, without a restart.

``casedesk serve`` (every web process and the embedded worker), ``casedesk worker`` and
``casedesk smtpd`` re-read ``CASEDESK_CONFIG`` when they receive SIGHUP (``systemctl reload``);
a supervisor passes the signal on to its processes. A config that does not validate is refused:
the process keeps the config it runs with and logs every problem with its line and column, as
``casedesk config check`` would. Work in progress finishes with the config it started with;
everything that starts afterwards sees the new one.

Read at start-up only (a restart applies them): the environment (database URL, log level),
listening addresses, and the set of IMAP mailboxes watched with IDLE.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

from casedesk.config import ConfigError, load_config

if TYPE_CHECKING:
    from casedesk.context import Context

log = logging.getLogger("casedesk.reload")
_one_at_a_time = threading.Lock()


def reload_config(ctx: Context) -> bool:
    """Swap in the config file's current content; ``False`` (old config kept) when it is
    unreadable or invalid."""
    source = ctx.settings.config or "(built-in defaults)"
    with _one_at_a_time:
        try:
            config = load_config(ctx.settings.config)
        except ConfigError as exc:
            log.error("config %s not reloaded, the running one is kept:\n%s", source, exc)
            return False
        ctx.config = config
    log.warning("config %s reloaded", source)
    return True


def reload_on_hangup(*contexts: Context) -> None:
    """Reload the config of ``contexts`` whenever the process receives SIGHUP (call from the
    main thread). The work runs in a short-lived thread, not inside the signal handler, which
    may interrupt the main thread anywhere."""
    if not hasattr(signal, "SIGHUP"):
        return
    previous = signal.getsignal(signal.SIGHUP)

    def handler(signum: int, frame: FrameType | None) -> None:
        for ctx in contexts:
            threading.Thread(target=reload_config, args=(ctx,), name="config-reload").start()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGHUP, handler)
    if hasattr(signal, "pthread_sigmask"):
        # A supervisor starts its processes with SIGHUP blocked (``casedesk.processes``); now
        # that the handler is in place, a reload asked for during start-up is delivered.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
