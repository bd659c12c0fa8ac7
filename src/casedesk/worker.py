"""The background worker: each pass runs the work that is due, then sleeps.

A pass is a list of jobs, each its own short transactions, so one failing job never stops the
others and a crash loses nothing (the next pass finds the same due work again). Jobs find due
work through indexed next-check times and claim it with ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so any number of ``casedesk worker`` processes can run side by side; on SQLite the
single writer lock serialises them.

Beside the passes, ``run_forever`` runs the slow jobs (``SLOW_JOBS``: pattern clustering) in a
thread of their own, and one IMAP IDLE thread per mailbox with ``idle = true``
(``channels.email.imap_idle``); the poll pass leaves those mailboxes to them, and the threads
end with the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from casedesk.context import Context
from casedesk.services import audit, outbox, patterns, sla

if TYPE_CHECKING:
    from casedesk.channels.email import imap_idle

log = logging.getLogger("casedesk.worker")
Job = Callable[[Context], int]


def seal_audit(ctx: Context) -> int:
    total = 0
    while (sealed := audit.seal(ctx.db, now=ctx.clock.now())) > 0:
        total += sealed
    return total


def poll_mailboxes(ctx: Context) -> int:
    from casedesk.channels.email import imap, imap_idle

    return imap.poll_due(ctx, skip=imap_idle.watched())


JOBS: list[tuple[str, Job]] = [
    ("sla_sweep", sla.sweep),
    ("auto_close", sla.auto_close),
    ("deliver_outbox", outbox.deliver_due),
    ("poll_mailboxes", poll_mailboxes),
    ("seal_audit", seal_audit),
]
# Jobs that may take seconds (clustering a million cases takes about ten): ``run_forever`` runs
# them in a thread of their own, so SLA warnings and notifications never wait behind them.
SLOW_JOBS: list[tuple[str, Job]] = [
    ("refresh_clusters", patterns.refresh_clusters),
]


def run_once(ctx: Context, *, slow: bool = True) -> dict[str, int]:
    """One pass over every job (without the slow ones when ``slow`` is false); returns how
    much each did."""
    done: dict[str, int] = {}
    for name, job in JOBS + (SLOW_JOBS if slow else []):
        try:
            done[name] = job(ctx)
        except Exception:
            log.exception("worker job %s failed; it runs again next pass", name)
            done[name] = -1
    return done


def startup_checks(ctx: Context) -> list[str]:
    """Problems the config check cannot see (teams and users live in the database); logged,
    since a team may be created after the worker starts. Escalations report them again when they
    run into them."""
    try:
        problems = sla.unknown_references(ctx)
    except Exception:
        log.exception("start-up check of SLA escalation targets failed")
        return []
    for problem in problems:
        log.error("config: %s; escalations to it will fail until it exists", problem)
    return problems


def run_forever(
    ctx: Context, *, interval: float = 5.0, stop: threading.Event | None = None
) -> None:
    stop = stop or threading.Event()
    startup_checks(ctx)
    watchers = start_idle(ctx, stop)
    slow = threading.Thread(
        target=_run_slow_jobs, args=(ctx, stop, interval), name="casedesk-slow-jobs", daemon=True
    )
    slow.start()
    try:
        while not stop.is_set():
            run_once(ctx, slow=False)
            stop.wait(interval)
    finally:
        # Also on Ctrl-C: the IDLE threads log out and give their mailbox leases back.
        stop.set()
        for watcher in watchers:
            watcher.join(timeout=5)


def _run_slow_jobs(ctx: Context, stop: threading.Event, interval: float) -> None:
    while not stop.is_set():
        for name, job in SLOW_JOBS:
            try:
                job(ctx)
            except Exception:
                log.exception("worker job %s failed; it runs again later", name)
        stop.wait(interval)


def start_idle(ctx: Context, stop: threading.Event) -> list[imap_idle.Watcher]:
    """Start the IMAP IDLE threads; should that fail, the poll pass covers every mailbox."""
    from casedesk.channels.email import imap_idle

    try:
        return imap_idle.start(ctx, stop)
    except Exception:
        log.exception("cannot start IMAP IDLE; the mailboxes are polled on their interval")
        return []


def start_in_thread(ctx: Context, *, interval: float = 5.0) -> threading.Event:
    """Run the worker beside the web server (the embedded single-machine set-up)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        args=(ctx,),
        kwargs={"interval": interval, "stop": stop},
        name="casedesk-worker",
        daemon=True,
    )
    thread.start()
    return stop
