"""The background worker: each pass runs the work that is due, then sleeps.

A pass is a list of jobs, each its own short transaction, so one failing job never stops the
others and a crash loses nothing (the next pass finds the same due work again).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from casedesk.context import Context
from casedesk.services import audit, outbox, patterns, sla

log = logging.getLogger("casedesk.worker")
Job = Callable[[Context], int]


def seal_audit(ctx: Context) -> int:
    total = 0
    while (sealed := audit.seal(ctx.db, now=ctx.clock.now())) > 0:
        total += sealed
    return total


def poll_mailboxes(ctx: Context) -> int:
    from casedesk.channels.email import imap

    return imap.poll_due(ctx)


JOBS: list[tuple[str, Job]] = [
    ("sla_sweep", sla.sweep),
    ("auto_close", sla.auto_close),
    ("deliver_outbox", outbox.deliver_due),
    ("poll_mailboxes", poll_mailboxes),
    ("refresh_clusters", patterns.refresh_clusters),
    ("seal_audit", seal_audit),
]


def run_once(ctx: Context) -> dict[str, int]:
    """One pass over every job; returns how much each did."""
    done: dict[str, int] = {}
    for name, job in JOBS:
        try:
            done[name] = job(ctx)
        except Exception:
            log.exception("worker job %s failed; it runs again next pass", name)
            done[name] = -1
    return done


def run_forever(
    ctx: Context, *, interval: float = 5.0, stop: threading.Event | None = None
) -> None:
    stop = stop or threading.Event()
    while not stop.is_set():
        run_once(ctx)
        stop.wait(interval)


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
