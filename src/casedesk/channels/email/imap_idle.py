"""IMAP IDLE (RFC 2177) for the mailboxes with ``idle = true``: mail is taken within about a
second of arriving instead of at the mailbox's next poll.

The worker starts one daemon ``Watcher`` thread per such mailbox (``start``). A watcher first
takes the mailbox's **lease**: the poll-state row's ``next_poll_at``, claimed like a poll
(``imap.claim_until``, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) but pushed ``LEASE`` seconds
ahead and renewed every ``RENEW`` seconds, so other workers' polls and watchers find the
mailbox not due. A renewal only moves the row if it still holds the value this watcher wrote
last (compare-and-set): when a stalled holder's lease ran out and another worker claimed the
row meanwhile, the renewal fails and the stalled holder disconnects instead of reading beside
the new one. If the holder dies, its lease runs out and another worker claims the mailbox. A
watcher that stops cleanly gives the lease back (``next_poll_at`` = now).

Holding the lease, the watcher logs in, takes what is unseen (``imap.take_one``: stored first,
flagged ``\\Seen`` after), then IDLEs. An untagged ``EXISTS`` (or non-zero ``RECENT``) makes it
take the unseen messages again; so does one more look 1.5 s after each round (mail stored
between a round and the next IDLE may go unannounced) and the mailbox's ``interval``, as a
safety poll in case a notification was missed. IDLE is re-issued at each lease renewal, far
inside the 29 minutes after which servers may drop an idle client. A server without the IDLE
capability is left to the worker's interval polling: the watcher records one poll and ends.

Connection errors are recorded on the state row (``imap.record_poll``, shown by
``mailbox_status``); the watcher backs off (1 s doubling to 60 s, renewing its lease while it
waits) and reconnects. It stops when the worker's stop event is set.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update

from casedesk.channels.email.imap import (
    BATCH,
    CONNECTION_ERRORS,
    T,
    claim_until,
    connect,
    record_poll,
    take_one,
)
from casedesk.config_email import email_settings

if TYPE_CHECKING:
    from imap_tools.mailbox import BaseMailBox

    from casedesk.config_email import ImapMailbox
    from casedesk.context import Context

log = logging.getLogger("casedesk.imap")
LEASE = 90.0  # seconds another worker keeps off a mailbox after the holder's last renewal
RENEW = 30.0  # seconds between renewals; well under LEASE so one slow renewal does no harm
TICK = 1.0  # seconds between looks at the stop event while in IDLE
RECHECK = 1.5  # seconds after a round before one more look (see ``Watcher._idle``)
IDLE_LIMIT = 25 * 60.0  # re-issue IDLE before RFC 2177's 29 minutes, whatever ``renew`` is
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
_NEW_MAIL = re.compile(rb"^\* (\d+) (EXISTS|RECENT)\b", re.IGNORECASE)

# Mailbox keys watched by a thread of this process; the worker's poll pass leaves them alone.
_watched: Counter[str] = Counter()
_watched_lock = threading.Lock()


def watched() -> frozenset[str]:
    """Keys of the mailboxes a watcher of this process is responsible for right now."""
    with _watched_lock:
        return frozenset(key for key, n in _watched.items() if n > 0)


def start(ctx: Context, stop: threading.Event) -> list[Watcher]:
    """Start a watcher for each mailbox with ``idle = true``; they end when ``stop`` is set."""
    watchers = [Watcher(ctx, m, stop) for m in email_settings(ctx.config).imap if m.idle]
    for watcher in watchers:
        watcher.start()
    return watchers


def supports_idle(box: BaseMailBox) -> bool:
    """Whether the server, asked after login (capabilities may grow then), offers IDLE."""
    status, data = box.client.capability()
    if status != "OK":
        return False
    words = b" ".join(d for d in data if isinstance(d, bytes)).upper().split()
    return b"IDLE" in words


class _LeaseLost(Exception):
    """Another worker holds the mailbox now; this watcher disconnects and waits."""


class _NoPassword(Exception):
    """The mailbox's password variable is not set (it may be by the next attempt)."""


# Failures of the mailbox or its settings, logged without a traceback and retried.
_EXPECTED = (*CONNECTION_ERRORS, _NoPassword)


class Watcher:
    """One mailbox's IDLE thread. ``state`` (``new``, ``waiting`` for the lease,
    ``connecting``, ``taking``, ``idling``, ``backoff``, ``polling`` after falling back to
    interval polling, ``stopped``) and ``lease_attempts`` are for health checks and tests."""

    def __init__(
        self,
        ctx: Context,
        mailbox: ImapMailbox,
        stop: threading.Event,
        *,
        renew: float = RENEW,
        lease: float = LEASE,
        tick: float = TICK,
        backoff: float = BACKOFF_FIRST,
        recheck: float = RECHECK,
    ) -> None:
        self.ctx = ctx
        self.mailbox = mailbox
        self.stop = stop
        self.renew = renew
        self.lease = lease
        self.tick = tick
        self.recheck = recheck
        self.state = "new"
        self.lease_attempts = 0
        self._lease_failed = False  # the last lease claim or renewal hit a database error
        self._backoff_first = backoff
        self._backoff = backoff
        self._held: datetime | None = None  # the next_poll_at this watcher wrote last
        self._renew_at = 0.0  # time.monotonic() of the next renewal
        self._unrecorded = 0  # messages taken but not yet counted on the state row
        self.thread = threading.Thread(
            target=self.run, name=f"casedesk-imap-idle {mailbox.key}", daemon=True
        )

    @property
    def holding(self) -> bool:
        return self._held is not None

    def start(self) -> None:
        with _watched_lock:
            _watched[self.mailbox.key] += 1
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def run(self) -> None:
        try:
            self._run()
        except Exception:  # a bug; the worker's poll pass takes over the mailbox
            log.exception("IMAP %s: IDLE watcher failed", self.mailbox.key)
        finally:
            self._release()
            with _watched_lock:
                _watched[self.mailbox.key] -= 1
            if self.state != "polling":
                self.state = "stopped"

    def _run(self) -> None:
        while not self.stop.is_set():
            if not self._hold():
                self.state = "waiting"
                if not self._lease_failed:  # another holder keeps its lease for a while
                    self.stop.wait(self.renew)
                    continue
                # A database error is usually over in moments: back off as for connections.
                self.stop.wait(min(self._backoff, self.renew))
                self._backoff = min(self._backoff * 2, BACKOFF_MAX)
                continue
            try:
                if self._session():
                    return  # no IDLE on this server: the worker polls it on its interval
                continue  # stopped, or the session ended cleanly
            except _LeaseLost:
                log.info("IMAP %s: another worker holds the mailbox now", self.mailbox.key)
                continue
            except _EXPECTED as exc:
                log.warning(
                    "IMAP %s: %s; reconnecting in %.0f s", self.mailbox.key, exc, self._backoff
                )
                self._failed(exc)
            except Exception as exc:  # e.g. the database is down; keep the thread alive
                log.exception("IMAP %s: IDLE session failed", self.mailbox.key)
                self._failed(exc)
            self.state = "backoff"
            self._pause(self._backoff)
            self._backoff = min(self._backoff * 2, BACKOFF_MAX)

    # -- one connection -------------------------------------------------------------------------

    def _session(self) -> bool:
        """Connect, take, IDLE until stopped; ``True`` when the server cannot IDLE."""
        password = os.environ.get(self.mailbox.password_env)
        if password is None:
            raise _NoPassword(f"environment variable {self.mailbox.password_env} is not set")
        self.state = "connecting"
        box = connect(self.mailbox)
        clean = False
        try:
            box.login(self.mailbox.user, password, initial_folder=self.mailbox.folder)
            if not supports_idle(box):
                self._take_all(box)
                self._fall_back()
                clean = True
                return True
            # Forget what SELECT reported before the first round, not after it: an EXISTS that
            # arrives during that round then still makes the first IDLE take again.
            box.client.untagged_responses.clear()
            self._take_all(box)
            self._backoff = self._backoff_first  # connected and working: start backoff anew
            self._idle(box)
            clean = True
            return False
        except _LeaseLost:
            clean = True  # the connection is fine; only the right to use it is gone
            raise
        finally:
            _close(box, clean=clean)

    def _idle(self, box: BaseMailBox) -> None:
        safety_at = time.monotonic() + self.mailbox.interval
        # Mail stored while a round ran may never be announced in the IDLE that follows:
        # Dovecot (maildir) was seen to miss a message stored just before IDLE began until its
        # own check half a minute later. So each round is followed by one more look soon after.
        recheck_at: float | None = time.monotonic() + self.recheck
        while not self.stop.is_set():
            self.state = "idling"
            until = min(self._renew_at, safety_at, time.monotonic() + IDLE_LIMIT)
            new_mail = self._idle_until(
                box, until if recheck_at is None else min(until, recheck_at)
            )
            if self.stop.is_set():
                return
            if not self._keep():
                raise _LeaseLost
            now = time.monotonic()
            rechecking = recheck_at is not None and now >= recheck_at
            safety_due = now >= safety_at
            if new_mail or rechecking or safety_due:
                box.client.noop()  # lets the server sync its view of the folder first
                self._take_all(box)
                safety_at = time.monotonic() + self.mailbox.interval
                # A look that was only the recheck needs no recheck of its own.
                only_recheck = rechecking and not (new_mail or safety_due)
                recheck_at = None if only_recheck else time.monotonic() + self.recheck

    def _idle_until(self, box: BaseMailBox, until: float) -> bool:
        """One IDLE command until ``until``, new mail or the stop event; whether mail came."""
        box.idle.start()
        new_mail = False
        while not new_mail and not self.stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                break
            # Short polls so a stop request is seen within ``tick``; IDLE itself stays on.
            lines = box.idle.poll(timeout=min(self.tick, left))
            new_mail = any(_is_new_mail(line) for line in lines)
        box.idle.stop()
        # An EXISTS that came with IDLE's start or DONE was read by imaplib, not by poll().
        for name in ("EXISTS", "RECENT"):
            values = box.client.untagged_responses.pop(name, None) or []
            if name == "EXISTS" and values:
                new_mail = True
            if name == "RECENT" and any(v != b"0" for v in values):
                new_mail = True
        return new_mail

    def _take_all(self, box: BaseMailBox) -> None:
        """Take every unseen message, batch by batch, renewing the lease as it goes."""
        self.state = "taking"
        while not self.stop.is_set():
            uids = box.uids("UNSEEN")[:BATCH]
            for uid in uids:
                if not self._keep():
                    raise _LeaseLost
                if not take_one(self.ctx, box, uid):
                    # The database is down: the rest stays unseen for the next round.
                    self._record_ok()
                    return
                self._unrecorded += 1
            if len(uids) < BATCH:
                break
        self._record_ok()

    def _fall_back(self) -> None:
        log.warning(
            "IMAP %s: the server does not support IDLE; polling every %.0f s instead",
            self.mailbox.key,
            self.mailbox.interval,
        )
        # Leave the row as a poll would, so the poll pass comes back after ``interval``.
        if self._held is not None:
            _move(self.ctx, self.mailbox, self._held, seconds=self.mailbox.interval)
        self._held = None
        self.state = "polling"

    # -- the lease --------------------------------------------------------------------------------

    def _hold(self) -> bool:
        """Take the lease if it is free, or renew the one this watcher holds."""
        try:
            if self._held is None:
                self.lease_attempts += 1
                self._held = claim_until(self.ctx, self.mailbox, self.lease)
            else:
                self._held = _move(self.ctx, self.mailbox, self._held, seconds=self.lease)
        except Exception:  # the database is down: no proof of holding, so act as not holding
            log.exception("IMAP %s: cannot take or renew the mailbox lease", self.mailbox.key)
            self._held = None
            self._lease_failed = True
        else:
            self._lease_failed = False
        if self._held is not None:
            self._renew_at = time.monotonic() + self.renew
        return self._held is not None

    def _keep(self) -> bool:
        """Renew the lease when it is time; whether this watcher still holds it."""
        if self._held is not None and time.monotonic() < self._renew_at:
            return True
        return self._hold()

    def _release(self) -> None:
        """Give the lease back so a poll or another watcher can start at once."""
        if self._held is None:
            return
        try:
            _move(self.ctx, self.mailbox, self._held, seconds=0)
        except Exception:
            log.exception("IMAP %s: cannot release the mailbox lease", self.mailbox.key)
        self._held = None

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` (or until stopped), renewing the lease meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self._held is not None:
                left = min(left, max(self._renew_at - time.monotonic(), 0.0))
            if self.stop.wait(left):
                return
            if self._held is not None and not self._keep():
                return

    # -- the state row ----------------------------------------------------------------------------

    def _record_ok(self) -> None:
        record_poll(self.ctx, self.mailbox, self._unrecorded, None)
        self._unrecorded = 0

    def _failed(self, exc: Exception) -> None:
        # imaplib's errors may quote the server's answer, never the password.
        record_poll(self.ctx, self.mailbox, self._unrecorded, f"{type(exc).__name__}: {exc}"[:500])
        self._unrecorded = 0


def _move(ctx: Context, mailbox: ImapMailbox, held: datetime, *, seconds: float) -> datetime | None:
    """Set ``next_poll_at`` to now + ``seconds`` if it still is ``held`` (compare-and-set);
    returns the new value, or ``None`` when another worker has claimed the row since."""
    until = ctx.clock.now() + timedelta(seconds=seconds)
    with ctx.db.write() as s:
        result = s.execute(
            update(T)
            .where(T.c.key == mailbox.key, T.c.next_poll_at == held)
            .values(next_poll_at=until)
        )
    return until if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _is_new_mail(line: bytes) -> bool:
    found = _NEW_MAIL.match(line)
    if found is None:
        return False
    return found.group(2).upper() == b"EXISTS" or int(found.group(1)) > 0


def _close(box: BaseMailBox, *, clean: bool) -> None:
    """Log out after a clean session; after an error just drop the socket."""
    try:
        if clean:
            box.logout()
        else:
            box.client.shutdown()
    except CONNECTION_ERRORS:
        pass
