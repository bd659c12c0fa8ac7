"""SLA and notification figures: one sweep pass over many open cases of which 1,000 are due,
and notifications delivered per second to a loopback HTTP receiver.

``BENCH_SLA_CASES`` sets how many open cases the database holds (default 200,000; the issue's
target is a pass under 500 ms at 1,000,000 on PostgreSQL). The cases and their SLA clocks are
written with bulk inserts (``COPY`` on PostgreSQL), not through the API: the figure is the
sweep's, whose cost must follow what is due, not how many cases are open.

``python -m bench.sla receiver PORT`` runs the receiver alone (the suite starts it as a
separate process, so it does not share the worker's interpreter).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psycopg

from bench.server import _free_port, fresh_database
from casedesk.clock import FixedClock
from casedesk.config import Settings, parse_config
from casedesk.context import Context
from casedesk.db.session import Database
from casedesk.services import outbox, sla

DUE = 1000
NOTIFICATIONS = 2000
DESTINATIONS = 4
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CONFIG = "\n".join(
    [
        "[[notify.routes]]",
        'events = ["sla.warning", "sla.breached"]',
        'to = ["hook-0"]',
        *(
            f'[[notify.destinations]]\nid = "hook-{i}"\nkind = "webhook"\n'
            f'webhook_url_env = "CASEDESK_BENCH_HOOK_{i}"'
            for i in range(DESTINATIONS)
        ),
    ]
)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_sla(kind: str) -> dict[str, Any]:
    cases = int(os.environ.get("BENCH_SLA_CASES", "200000"))
    result: dict[str, Any] = {"db": kind, "suite": "sla", "open_cases": cases, "due": DUE}
    with receiver() as port, fresh_database(kind) as url:
        for i in range(DESTINATIONS):
            os.environ[f"CASEDESK_BENCH_HOOK_{i}"] = f"http://127.0.0.1:{port}/hook/{i}"
        ctx = Context(
            settings=Settings(database_url=url),
            config=parse_config(CONFIG),
            db=Database(url, pool_size=DESTINATIONS + 2),
            clock=FixedClock(NOW),
        )
        try:
            _log(f"[{kind}] bulk-loading {cases} open cases with SLA clocks")
            started = time.perf_counter()
            load(url, cases)
            result["load_s"] = round(time.perf_counter() - started, 1)
            _log(f"[{kind}] SLA sweep over {cases} open cases, {DUE} due")
            started = time.perf_counter()
            fired = sla.sweep(ctx)
            result["sla_sweep_ms"] = round((time.perf_counter() - started) * 1000, 1)
            result["sla_fired"] = fired
            started = time.perf_counter()  # a second pass: nothing is due any more
            sla.sweep(ctx)
            result["sla_idle_sweep_ms"] = round((time.perf_counter() - started) * 1000, 2)
            outbox.deliver_due(ctx)  # the sweep's own notifications, not timed
            _log(f"[{kind}] delivering notifications to a loopback receiver")
            result.update(notifications(ctx))
        finally:
            ctx.db.dispose()
    return result


def _clock_rows(cases: int) -> Iterator[tuple[Any, ...]]:
    """Two clocks per case; the first response of the first ``DUE`` cases is 80 % used."""
    day = timedelta(days=1)
    for n in range(1, cases + 1):
        due = n <= DUE
        started = NOW - timedelta(hours=6, minutes=24) if due else NOW - timedelta(minutes=n % 60)
        first_due = started + timedelta(hours=8)
        check = NOW - timedelta(minutes=1) if due else started + timedelta(hours=6) + (n % 7) * day
        yield (n, "first_response", started, first_due, check)
        yield (n, "resolution", started, started + 5 * day, started + timedelta(days=3.75))


def load(url: str, cases: int) -> None:
    """Open cases (status ``in_progress``) and their running clocks, in bulk."""
    case_cols = (
        "number, subject, description, channel, priority, custom_fields, status, "
        "status_category, created_at, updated_at, reopen_count"
    )
    clock_cols = (
        "case_number, metric, cycle, policy_id, calendar_id, target_seconds, started_at, "
        "state, due_at, next_check_at, pauses, fired, history, updated_at"
    )
    targets = {"first_response": 8 * 3600, "resolution": 5 * 86400}

    def case_row(n: int) -> tuple[Any, ...]:
        created = NOW - timedelta(minutes=n % 600)
        return (
            n,
            f"Bench case {n}",
            "",
            "api",
            1,
            "{}",
            "in_progress",
            "open",
            created,
            created,
            0,
        )

    def clock_row(r: tuple[Any, ...]) -> tuple[Any, ...]:
        n, metric, started, due, check = r
        return (
            n, metric, 1, "default-normal", "24x7", targets[metric], started, "running",
            due, check, "[]", "{}", "[]", NOW,
        )  # fmt: skip

    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("BEGIN")
        naive = _sqlite_times
        conn.executemany(
            f"INSERT INTO cases ({case_cols}) VALUES ({', '.join('?' * 11)})",
            (naive(case_row(n)) for n in range(1, cases + 1)),
        )
        conn.executemany(
            f"INSERT INTO sla_clocks ({clock_cols}) VALUES ({', '.join('?' * 14)})",
            (naive(clock_row(r)) for r in _clock_rows(cases)),
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.close()
        return
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor().copy(f"COPY cases ({case_cols}) FROM STDIN") as copy:
            for n in range(1, cases + 1):
                copy.write_row(case_row(n))
        with conn.cursor().copy(f"COPY sla_clocks ({clock_cols}) FROM STDIN") as copy:
            for r in _clock_rows(cases):
                copy.write_row(clock_row(r))
        conn.execute("SELECT setval('cases_number_seq', %s)", (cases,))
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE cases")
        conn.execute("ANALYZE sla_clocks")


def _sqlite_times(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """SQLite stores UTC datetimes as naive ISO text (see ``db.tables.UTCDateTime``)."""
    return tuple(
        v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") if isinstance(v, datetime) else v
        for v in row
    )


def notifications(ctx: Context) -> dict[str, Any]:
    """Queue ``NOTIFICATIONS`` over ``DESTINATIONS`` hooks, then time the worker delivering."""
    notice = {
        "event": "sla.breached",
        "ticket_id": "CASE-000001",
        "case_url": "/console/cases/CASE-000001",
        "subject": "Bench notification",
        "priority": "urgent",
        "status": "In Progress",
        "channel": "email",
        "detail": "first response target of 8h breached",
    }
    now = ctx.clock.now()
    rows = [
        outbox._row(
            f"bench:{i}",
            "sla.breached",
            None,
            f"hook-{i % DESTINATIONS}",
            "webhook",
            {"notice": notice},
            now,
        )
        for i in range(NOTIFICATIONS)
    ]
    with ctx.db.write() as s:
        outbox.insert_rows(s, rows)
    started = time.perf_counter()
    delivered = outbox.deliver_due(ctx)
    seconds = time.perf_counter() - started
    return {
        "notifications_per_s": round(delivered / seconds, 1),
        "notifications_delivered": delivered,
        "notification_destinations": DESTINATIONS,
    }


@contextmanager
def receiver() -> Iterator[int]:
    """The loopback receiver in its own process, answering 200 to every POST."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sla", "receiver", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.post(f"http://127.0.0.1:{port}/ready", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Slack and Teams endpoints do
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms ACK waits

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1:2] == ["receiver"]:
        _serve(int(sys.argv[2]))
    else:
        print(json.dumps(run_sla(sys.argv[1] if len(sys.argv) > 1 else "sqlite"), indent=2))
