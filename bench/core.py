"""Core figures: case creation and transitions through the HTTP API, filtered list latency,
and the bare-driver write rate they are compared with."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.http_load import percentile, run_load
from bench.server import Server
from casedesk.domain import audit_chain

CLIENTS = 8
CASES = 2400


def _new_case(i: int, who: str = "member") -> tuple[str, str, Any, dict[str, str] | None]:
    body = {
        "subject": f"Points not credited after purchase #{i}",
        "description": "Customer says the points for the last purchase are missing.",
        "priority": ("low", "normal", "high", "urgent")[i % 4],
        "tags": ["points"],
        "customer": {"email": f"{who}{i % 500}@example.com", "external_ref": f"{who}-{i % 500}"},
    }
    return "POST", "/api/v1/cases", body, {"Idempotency-Key": f"bench-{i}"}


WARM_UP = 400


def api_figures(server: Server) -> dict[str, Any]:
    # Not measured: the first requests of each process pay for compiling statements, preparing
    # them on the server and filling the pools. Other customers, so that the measured run still
    # creates its 500 customers.
    run_load(
        server.host,
        server.port,
        server.token,
        clients=CLIENTS,
        total=WARM_UP,
        make=lambda i: _new_case(CASES + i, who="warmup"),
        expect=201,
    )
    create = run_load(
        server.host,
        server.port,
        server.token,
        clients=CLIENTS,
        total=CASES,
        make=_new_case,
        expect=201,
    )
    ids = [r["id"] for r in create.results if r and "id" in r]

    def _move(i: int) -> tuple[str, str, Any, dict[str, str] | None]:
        return "POST", f"/api/v1/cases/{ids[i]}/transitions", {"to": "in_progress"}, None

    moves = run_load(
        server.host, server.port, server.token, clients=CLIENTS, total=len(ids) // 2, make=_move
    )

    def _list(_: int) -> tuple[str, str, Any, dict[str, str] | None]:
        return "GET", "/api/v1/cases?status=in_progress&priority=high&limit=50", None, None

    listing = run_load(server.host, server.port, server.token, clients=1, total=200, make=_list)
    return {
        "create_cases_per_s": round(create.per_second, 1),
        "create_p95_ms": round(percentile(create.latencies_ms, 95), 2),
        "create_errors": create.errors,
        "cases_created": len(ids),
        "transition_per_s": round(moves.per_second, 1),
        "transition_errors": moves.errors,
        "list_p50_ms": round(percentile(listing.latencies_ms, 50), 2),
        "list_p95_ms": round(percentile(listing.latencies_ms, 95), 2),
    }


def _raw_rows(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    now = datetime.now(UTC)
    case = {
        "subject": f"raw #{i}",
        "description": "",
        "channel": "api",
        "priority": 1,
        "custom_fields": "{}",
        "status": "open",
        "status_category": "new",
        "created_at": now,
        "updated_at": now,
        "reopen_count": 0,
    }
    event = {
        "scope": "",
        "seq": 1,
        "case_number": 0,
        "action": "case.created",
        "actor_kind": "user",
        "actor_id": "1",
        "actor_label": "bench",
        "origin": "bench",
        "data": {"subject": case["subject"]},
        "occurred_at": now,
    }
    return case, event


CASE_SQL = (
    "INSERT INTO cases (subject, description, channel, priority, custom_fields, status, "
    "status_category, created_at, updated_at, reopen_count) VALUES ({ph}) "
    "RETURNING number"
)
EVENT_SQL = (
    "INSERT INTO audit_events (scope, seq, case_number, action, actor_kind, actor_id, "
    "actor_label, origin, data, occurred_at, prev_hash, hash) VALUES ({ph})"
)


def raw_db_tx_per_s(url: str, n: int = CASES) -> float:
    """One case row + one hashed audit row per committed transaction, bare driver, one
    connection: the ceiling the API's create rate is compared with."""
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        ph = "?"
    else:
        conn = psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
        )
        ph = "%s"
    case_sql = CASE_SQL.format(ph=", ".join([ph] * 10))
    event_sql = EVENT_SQL.format(ph=", ".join([ph] * 12))
    start = time.perf_counter()
    for i in range(n):
        case, event = _raw_rows(i)
        conn.execute("BEGIN")
        number = conn.execute(case_sql, list(case.values())).fetchone()[0]
        event.update(scope=f"case:{number}", case_number=number)
        digest = audit_chain.event_hash(audit_chain.GENESIS, event)
        values = [*event.values()]
        values[8] = json.dumps(values[8])
        conn.execute(event_sql, [*values, audit_chain.GENESIS, digest])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed
