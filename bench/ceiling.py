"""The ceiling of ``create_vs_raw`` on this machine: the same load against a bare FastAPI app.

The app takes the same request body, checks the bearer token with one indexed query (like
casedesk), and writes with the bare driver in one transaction either the two rows of the raw
loop (case + audit event) or the seven a casedesk create writes (customer lookup, case, tag,
idempotency key, two SLA clocks, audit event), with no business rules, no SQLAlchemy and no
middleware. It runs in two processes sharing the port like ``casedesk serve --workers 2``,
under the same 8-client load, on a fresh PostgreSQL database next to the raw loop.

``python -m bench --suite ceiling`` (PostgreSQL only; not part of ``make bench``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench import core
from bench.http_load import run_load
from bench.server import _free_port, fresh_database

APP = """
import hashlib, json, os, threading
import psycopg
from fastapi import Depends, FastAPI, Request, Response
from pydantic import BaseModel

URL, FULL = os.environ["CEILING_URL"], os.environ.get("CEILING_FULL") == "1"
local = threading.local()
app = FastAPI()


def conn():
    if getattr(local, "conn", None) is None:
        local.conn = psycopg.connect(URL)
    return local.conn


class CaseIn(BaseModel):
    subject: str
    description: str = ""
    priority: str = "normal"
    tags: list[str] = []
    customer: dict | None = None


def principal(request: Request) -> str:
    token = request.headers.get("authorization", "").partition(" ")[2]
    digest = hashlib.sha256(token.encode()).hexdigest()
    c = conn()
    c.execute("SELECT id FROM api_tokens WHERE token_hash = %s", (digest,)).fetchone()
    c.commit()
    return token


@app.post("/api/v1/cases", status_code=201)
def create(body: CaseIn, _: str = Depends(principal)) -> Response:
    c = conn()
    with c.transaction():
        if FULL:
            who = body.customer or {}
            c.execute(
                "SELECT id FROM customers WHERE email = %s OR external_ref = %s ORDER BY id",
                (who.get("email"), who.get("external_ref")),
            ).fetchall()
        n = c.execute(
            "INSERT INTO cases (subject, description, channel, priority, custom_fields, status,"
            " status_category, created_at, updated_at, reopen_count) VALUES"
            " (%s, %s, 'api', 1, '{}', 'open', 'new', now(), now(), 0) RETURNING number",
            (body.subject, body.description),
        ).fetchone()[0]
        if FULL:
            c.execute("INSERT INTO case_tags (case_number, tag) VALUES (%s, %s)", (n, "points"))
            c.execute(
                "INSERT INTO idempotency_keys (owner, key, fingerprint, case_number, created_at)"
                " VALUES ('ceiling', %s, '', %s, now())", (f"k{n}", n),
            )
            for metric in ("first_response", "resolution"):
                c.execute(
                    "INSERT INTO sla_clocks (case_number, metric, cycle, policy_id, calendar_id,"
                    " target_seconds, started_at, state, due_at, next_check_at, pauses, fired,"
                    " history, updated_at) VALUES (%s, %s, 1, 'p', '24x7', 3600, now(),"
                    " 'running', now(), now(), '[]', '{}', '[]', now())", (n, metric),
                )
        digest = hashlib.sha256(json.dumps(body.model_dump()).encode()).hexdigest()
        c.execute(
            "INSERT INTO audit_events (scope, seq, case_number, action, actor_kind, actor_id,"
            " actor_label, origin, data, occurred_at, prev_hash, hash) VALUES"
            " (%s, 1, %s, 'case.created', 'user', '1', 'x', 'x', '{}', now(), %s, %s)",
            (f"case:{n}", n, digest, digest),
        )
    return Response(json.dumps({"id": n}), 201, media_type="application/json")
"""

SERVER = """
import sys
import uvicorn
from casedesk import processes

def main(port):
    sock = processes.shared_socket("127.0.0.1", port)
    sys.path.insert(0, {folder!r})
    from ceiling_app import app
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])

if __name__ == "__main__":
    processes.run_processes("127.0.0.1", {port}, main, ({port},), 2)
"""


def _create_rate(url: str, folder: Path, *, full: bool) -> float:
    port = _free_port()
    (folder / "ceiling_app.py").write_text(APP)
    (folder / "ceiling_server.py").write_text(SERVER.format(folder=str(folder), port=port))
    env = {
        **os.environ,
        "CEILING_URL": url.replace("postgresql+psycopg://", "postgresql://"),
        "CEILING_FULL": "1" if full else "0",
    }
    process = subprocess.Popen([sys.executable, str(folder / "ceiling_server.py")], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the ceiling app did not start") from None
                time.sleep(0.2)
        offset = 1_000_000 if full else 0
        run_load(
            "127.0.0.1",
            port,
            "t",
            clients=core.CLIENTS,
            total=400,
            make=lambda i: core._new_case(offset + i),
            expect=201,
        )
        result = run_load(
            "127.0.0.1",
            port,
            "t",
            clients=core.CLIENTS,
            total=core.CASES,
            make=lambda i: core._new_case(offset + 1000 + i),
            expect=201,
        )
        return result.per_second
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_ceiling(folder: Path) -> dict[str, Any]:
    with fresh_database("postgresql") as url:
        raw = core.raw_db_tx_per_s(url)
        two = _create_rate(url, folder, full=False)
        seven = _create_rate(url, folder, full=True)
    return {
        "db": "postgresql",
        "suite": "ceiling",
        "raw_db_tx_per_s": round(raw, 1),
        "bare_app_two_rows_per_s": round(two, 1),
        "bare_app_two_rows_vs_raw": round(two / raw, 3),
        "bare_app_seven_rows_per_s": round(seven, 1),
        "bare_app_seven_rows_vs_raw": round(seven / raw, 3),
    }
