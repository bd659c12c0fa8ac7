"""``make bench``: every benchmark on SQLite and (when reachable) PostgreSQL; JSON on stdout.

Each result object is labelled with its database (``"db": "sqlite"`` / ``"postgresql"``).
Progress goes to stderr so stdout stays machine-readable.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import Any

from bench import core
from bench.scale import run_scale
from bench.server import fresh_database, postgres_reachable, serve
from bench.sla import run_sla


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_core(kind: str) -> dict[str, Any]:
    result: dict[str, Any] = {"db": kind, "suite": "core"}
    with fresh_database(kind) as url:
        _log(f"[{kind}] raw driver write loop")
        result["raw_db_tx_per_s"] = round(core.raw_db_tx_per_s(url), 1)
    with fresh_database(kind) as url, serve(url, workers=2) as server:
        _log(f"[{kind}] HTTP API: create, transition, list")
        result.update(core.api_figures(server))
    result["create_vs_raw"] = round(result["create_cases_per_s"] / result["raw_db_tx_per_s"], 3)
    return result


def run_email(kind: str) -> dict[str, Any]:
    from bench import email as email_bench

    result: dict[str, Any] = {"db": kind, "suite": "email"}
    with fresh_database(kind) as url:
        _log(f"[{kind}] e-mail intake: raw MIME parsed, threaded and stored")
        result.update(email_bench.email_intake_per_s(url, kind))
    return result


def run_ceiling(kind: str) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    from bench.ceiling import run_ceiling as measure

    _log("[postgresql] bare FastAPI app: the ceiling of create_vs_raw")
    with tempfile.TemporaryDirectory() as folder:
        return measure(Path(folder))


SUITES = {"core": run_core, "email": run_email, "sla": run_sla, "scale": run_scale}
ON_DEMAND = {"ceiling": run_ceiling}  # not part of ``make bench``


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--suite", choices=[*SUITES, *ON_DEMAND, "all"], default="all")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "all" else [args.db]
    if "postgresql" in kinds and not postgres_reachable():
        _log("PostgreSQL not reachable: PostgreSQL figures skipped")
        kinds.remove("postgresql")
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    if args.suite in ON_DEMAND:
        kinds = [k for k in kinds if k == "postgresql"]
    started = time.time()
    results = [{**SUITES, **ON_DEMAND}[s](kind) for kind in kinds for s in suites]
    print(
        json.dumps(
            {
                "machine": {
                    "python": platform.python_version(),
                    "cpus": __import__("os").cpu_count(),
                },
                "seconds": round(time.time() - started, 1),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
