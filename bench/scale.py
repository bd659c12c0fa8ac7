"""Scale figures: the API, search, reports and console pages at N cases, through a real
``casedesk serve --workers 2`` process.

N comes from ``BENCH_SCALE_CASES`` (default 1,000,000) on PostgreSQL and from
``BENCH_SCALE_SQLITE_CASES`` (default 100,000) on SQLite, the embedded single-machine engine. The
data set is generated once by ``casedesk.datagen`` and kept between runs: PostgreSQL in the
database ``casedesk_bench_scale`` (its comment records N, seed and schema revision), SQLite in
``$BENCH_CACHE_DIR`` (default ``~/.cache/casedesk-bench``); either is regenerated when missing
or when N, the generator or the schema revision differ. Every figure is labelled with "db"
and "cases".
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.http_load import percentile, run_load
from bench.server import CASEDESK, PG_URL, Server, running

DATAGEN_VERSION = "1"
SEED = 7
LEAD = "lead@bench.example"
PASSWORD = "bench-lead-password"
SEARCHES = (
    "redemption catalogue",
    "voucher rejected",
    "points",
    "lopez",
    "password reset",
    "skyair transfer",
    "santos",
    "merge accounts",
    "lounge",
    "receipt",
)
FILTERS = (
    "status=in_progress&priority=high",
    "status=on_hold&team=tier2",
    "channel=chat&status=open",
    "tag=vip&status_category=pending",
    "priority=urgent",
    "assignee=none&status=open",
)
REPORTS = ("timelines", "bottlenecks", "sla", "backlog", "patterns")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cases_for(kind: str) -> int:
    """N: ``BENCH_SCALE_CASES`` (default 1,000,000) on PostgreSQL; on SQLite
    ``BENCH_SCALE_SQLITE_CASES``, else the smaller of that and 100,000."""
    pg = int(os.environ.get("BENCH_SCALE_CASES", 1_000_000))
    if kind == "postgresql":
        return pg
    return int(os.environ.get("BENCH_SCALE_SQLITE_CASES", min(pg, 100_000)))


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from casedesk.db.migrate import alembic_config

    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


def _schema_digest() -> str:
    """A digest of the migration scripts: a cached data set is rebuilt when any of them (or
    the generator) changes, not only when a new revision appears."""
    import hashlib

    from casedesk.db.migrate import MIGRATIONS

    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    for module in sorted(p.name for p in MIGRATIONS.parent.glob("datagen*.py")):
        digest.update((MIGRATIONS.parent / module).read_bytes())
    return digest.hexdigest()[:12]


def _marker(n: int) -> str:
    return (
        f"casedesk-bench cases={n} seed={SEED} datagen={DATAGEN_VERSION} "
        f"rev={_head_revision()} schema={_schema_digest()}"
    )


@contextmanager
def scale_database(kind: str, n: int) -> Iterator[str]:
    """A migrated database holding the N-case data set, generated only when needed."""
    marker = _marker(n)
    if kind == "sqlite":
        cache = Path(os.environ.get("BENCH_CACHE_DIR", Path.home() / ".cache" / "casedesk-bench"))
        cache.mkdir(parents=True, exist_ok=True)
        path, note = cache / f"scale-{n}.db", cache / f"scale-{n}.json"
        url = f"sqlite:///{path}"
        if not (path.exists() and note.exists() and json.loads(note.read_text()) == marker):
            for stale in cache.glob(f"scale-{n}.db*"):
                stale.unlink()
            _generate(url, n)
            note.write_text(json.dumps(marker))
        yield url
        return
    admin = PG_URL.replace("+psycopg", "")
    name = "casedesk_bench_scale"
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        if row is None or row[0] != marker:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
            fresh = True
        else:
            fresh = False
    if fresh:
        _generate(url, n)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"COMMENT ON DATABASE {name} IS '{marker}'")
    yield url


def _generate(url: str, n: int) -> None:
    from casedesk import datagen
    from casedesk.config import AppConfig, Settings
    from casedesk.context import Context
    from casedesk.db.migrate import upgrade
    from casedesk.db.session import Database
    from casedesk.domain.actors import Actor
    from casedesk.services import patterns, users

    upgrade(url)
    ctx = Context(settings=Settings(database_url=url), config=AppConfig(), db=Database(url))
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 100_000 == 0 or done == total:
            _log(f"  generated {done:,}/{total:,} cases ({time.perf_counter() - started:.0f} s)")

    _log(f"generating {n:,} cases into {url.rsplit('/', 1)[-1]} (kept for later runs)")
    datagen.generate(ctx, cases=n, seed=SEED, progress=progress)
    actor = Actor(kind="system", label="bench", origin="bench")
    users.create_user(
        ctx.db, email=LEAD, name="Bench Lead", role="lead", password=PASSWORD, actor=actor,
        now=ctx.clock.now(),
    )  # fmt: skip
    patterns.refresh_clusters(ctx, force=True)  # what the worker keeps for the patterns report
    ctx.db.dispose()
    _log(f"  data set ready in {time.perf_counter() - started:.0f} s")


def _token(url: str) -> str:
    env = {**os.environ, "CASEDESK_DATABASE_URL": url}
    out = subprocess.run(
        [CASEDESK, "token", "create", LEAD, "--label", "bench"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


@contextmanager
def serve(url: str, workers: int = 2) -> Iterator[Server]:
    """``casedesk serve`` on the cached data set (no bootstrap: the lead exists already)."""
    env = {**os.environ, "CASEDESK_DATABASE_URL": url, "CASEDESK_LOG_LEVEL": "warning"}
    with running(env, _token(url), workers=workers) as server:
        yield server


def _latency(server: Server, paths: list[str], *, expect: int = 200) -> dict[str, float]:
    def make(i: int) -> tuple[str, str, Any, dict[str, str] | None]:
        return "GET", paths[i % len(paths)], None, None

    warm = list(dict.fromkeys(paths))[:20]  # each distinct request once: caches, pools

    def warming(i: int) -> tuple[str, str, Any, dict[str, str] | None]:
        return "GET", warm[i], None, None

    run_load(server.host, server.port, server.token, clients=1, total=len(warm), make=warming)
    result = run_load(
        server.host,
        server.port,
        server.token,
        clients=1,
        total=len(paths),
        make=make,
        expect=expect,
    )
    return {
        "p50_ms": round(percentile(result.latencies_ms, 50), 1),
        "p95_ms": round(percentile(result.latencies_ms, 95), 1),
        "errors": result.errors,
    }


def _rss_mb(parent: int) -> list[float]:
    """Resident memory of each process under ``parent`` (uvicorn's workers) and itself."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = int(re.search(r"^PPid:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
        pid = int(status.parent.name)
        if ppid == parent or pid == parent:
            rss = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
            if rss:
                found.append(round(int(rss.group(1)) / 1024, 1))
    return found


def _console(server: Server, numbers: list[int]) -> dict[str, Any]:
    """The console's queue and case pages, signed in through its login form."""
    with httpx.Client(base_url=server.base, timeout=30) as client:
        page = client.get("/console/login")
        if page.status_code != 200:
            return {"console": "not available"}
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        login = client.post(
            "/console/login",
            data={
                "email": LEAD,
                "password": PASSWORD,
                "csrf_token": token.group(1) if token else "",
            },
        )
        if login.status_code >= 400:
            return {"console": f"sign-in failed ({login.status_code})"}
        out: dict[str, Any] = {}
        for name, paths in (
            ("console_queue", ["/console"] * 3 + [f"/console?{f}" for f in FILTERS]),
            ("case_page", [f"/console/cases/{_tid(n)}" for n in numbers[:40]]),
        ):
            client.get(paths[0])
            times = []
            for path in paths * max(1, 40 // len(paths)):
                t0 = time.perf_counter()
                resp = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                if resp.status_code != 200:
                    out[f"{name}_errors"] = out.get(f"{name}_errors", 0) + 1
            out[f"{name}_ms"] = round(percentile(times, 50), 1)
            out[f"{name}_p95_ms"] = round(percentile(times, 95), 1)
        return out


def _tid(number: int) -> str:
    return f"CASE-{number:06d}"


def figures(server: Server, n: int) -> dict[str, Any]:
    rng = random.Random(1)
    numbers = [rng.randrange(1, n + 1) for _ in range(200)]
    out: dict[str, Any] = {}
    first = _latency(server, ["/api/v1/cases?limit=50"] * 100)
    out.update({f"queue_first_page_{k}": v for k, v in first.items()})
    filtered = _latency(server, [f"/api/v1/cases?{f}&limit=50" for f in FILTERS] * 20)
    out.update({f"queue_filtered_{k}": v for k, v in filtered.items()})
    found = _latency(server, [f"/api/v1/search?q={q.replace(' ', '+')}" for q in SEARCHES] * 10)
    out.update({f"search_{k}": v for k, v in found.items()})
    page = _latency(server, [f"/api/v1/cases/{_tid(x)}" for x in numbers])
    out.update({f"case_page_api_{k}": v for k, v in page.items()})
    for name in REPORTS:
        timed = _latency(server, [f"/api/v1/reports/{name}"] * 2)
        out[f"report_{name}_ms"] = timed["p95_ms"]
    out.update(_console(server, numbers))
    rss = _rss_mb(server.process.pid)
    out["api_rss_mb_max"] = max(rss) if rss else None
    out["api_rss_mb"] = rss
    return out


def run_scale(kind: str) -> dict[str, Any]:
    n = cases_for(kind)
    result: dict[str, Any] = {"db": kind, "suite": "scale", "cases": n}
    started = time.perf_counter()
    with scale_database(kind, n) as url:
        result["prepare_s"] = round(time.perf_counter() - started, 1)
        with serve(url, workers=2) as server:
            _log(f"[{kind}] scale figures at {n:,} cases")
            result.update(figures(server, n))
    return result
