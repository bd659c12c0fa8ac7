"""The ``casedesk`` command."""

from __future__ import annotations

import secrets
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from casedesk.config import ConfigError, Settings, load_config
from casedesk.context import Context
from casedesk.domain.actors import Actor
from casedesk.domain.errors import DomainError
from casedesk.reload import reload_on_hangup

app = typer.Typer(help="casedesk: customer-support case management.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Staff users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
config_app = typer.Typer(help="The TOML config.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (user_app, "user"),
    (token_app, "token"),
    (audit_app, "audit"),
    (config_app, "config"),
):
    app.add_typer(sub, name=name)

err = Console(stderr=True)
out = Console()
CLI = Actor(kind="system", label="cli", origin="cli")


def _ctx() -> Context:
    try:
        return Context.from_settings(pool_size=2)
    except ConfigError as exc:
        print(f"config error\n{exc}", file=sys.stderr)
        raise typer.Exit(2) from exc


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    from casedesk.db.migrate import upgrade

    url = Settings().database_url
    upgrade(url)
    err.print(f"database at {url.split('@')[-1]} is up to date")


@user_app.command("add")
def user_add(
    email: str,
    name: Annotated[str, typer.Option(help="Display name")],
    role: Annotated[str, typer.Option(help="admin, lead or agent")] = "agent",
    team: Annotated[str | None, typer.Option(help="Team name")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False,
) -> None:
    """Add a staff user."""
    from casedesk.services import users

    ctx = _ctx()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        user = users.create_user(
            ctx.db,
            email=email,
            name=name,
            role=role,
            team=team,
            password=password,
            actor=CLI,
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    err.print(f"added {user.email} ({user.role})")


@user_app.command("bootstrap")
def user_bootstrap(email: str = "admin@casedesk.local") -> None:
    """Create the first admin (password and API token printed once) unless an admin exists."""
    from casedesk.services import users

    ctx = _ctx()
    if users.count_admins(ctx.db) > 0:
        err.print("an admin already exists; nothing to do")
        return
    password = secrets.token_urlsafe(12)
    now = ctx.clock.now()
    user = users.create_user(
        ctx.db,
        email=email,
        name="Administrator",
        role="admin",
        password=password,
        actor=CLI,
        now=now,
    )
    token = users.create_token(ctx.db, user_id=user.id, label="bootstrap", actor=CLI, now=now)
    out.print("[bold]First admin created — these are shown once:[/bold]")
    out.print(f"  e-mail:    {user.email}")
    out.print(f"  password:  {password}")
    out.print(f"  API token: {token.token}")


@token_app.command("create")
def token_create(email: str, label: Annotated[str, typer.Option()] = "cli") -> None:
    """Print a new API token for a user, once, on stdout."""
    from casedesk.services import users

    ctx = _ctx()
    try:
        user = users.get_user(ctx.db, email)
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    issued = users.create_token(
        ctx.db, user_id=user.id, label=label, actor=CLI, now=ctx.clock.now()
    )
    print(issued.token)


@audit_app.command("verify")
def audit_verify(
    file: Annotated[Path | None, typer.Option(help="Verify a JSONL export instead")] = None,
) -> None:
    """Exit 0 when every chain is intact; otherwise name the first bad event and exit 1."""
    from casedesk.services import audit

    if file is not None:
        with file.open(encoding="utf-8") as fh:
            breaks = audit.verify_export(fh)
        if breaks:
            err.print(f"[red]TAMPERED[/red] first bad: {breaks[0]}")
            raise typer.Exit(1)
        err.print(f"export {file} is intact")
        return
    ctx = _ctx()
    audit.seal(ctx.db, now=ctx.clock.now())
    result = audit.verify(ctx.db)
    if not result.ok:
        err.print(f"[red]TAMPERED[/red] first bad: {result.first}")
        for b in result.breaks[1:20]:
            err.print(f"  also: {b}")
        raise typer.Exit(1)
    out.print(f"audit trail intact: {result.events} events, {result.seals} sealed")


@audit_app.command("export")
def audit_export(
    since: Annotated[datetime | None, typer.Option(help="UTC start, e.g. 2026-01-01")] = None,
    until: Annotated[datetime | None, typer.Option(help="UTC end (exclusive)")] = None,
    format: Annotated[str, typer.Option(help="jsonl or csv")] = "jsonl",
    output: Annotated[Path | None, typer.Option(help="File; default stdout")] = None,
) -> None:
    """Write the events of a time range with their chain and seal hashes."""
    from datetime import UTC

    from casedesk.services import audit

    if format not in ("jsonl", "csv"):
        err.print("[red]--format must be jsonl or csv[/red]")
        raise typer.Exit(2)
    ctx = _ctx()
    rows = audit.export_rows(
        ctx.db,
        since=since.replace(tzinfo=since.tzinfo or UTC) if since else None,
        until=until.replace(tzinfo=until.tzinfo or UTC) if until else None,
    )
    if output is None:
        count = audit.write_export(rows, sys.stdout, format)
    else:
        with output.open("w", encoding="utf-8", newline="") as fh:
            count = audit.write_export(rows, fh, format)
    err.print(f"exported {count} events")


@config_app.command("check")
def config_check(path: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Validate the TOML config and summarise what it means."""
    source = path or Settings().config
    try:
        config = load_config(source)
    except ConfigError as exc:
        # Plain lines (no markup, no wrapping) so editors and CI can parse path:line:col.
        print(f"{len(exc.problems)} problem(s) in {exc.source}", file=sys.stderr)
        for p in exc.problems:
            print(f"{exc.source}:{p}", file=sys.stderr)
        raise typer.Exit(1) from exc
    wf = config.lifecycle
    out.print(f"config {source or '(built-in defaults)'} is valid")
    out.print(f"  ticket IDs: {config.tickets.prefix}-{'0' * (config.tickets.digits - 1)}1")
    out.print("  statuses: " + ", ".join(f"{s.id} ({s.category})" for s in wf.statuses))
    for t in wf.transitions:
        needs = f" needs {', '.join(sorted(t.requires))}" if t.requires else ""
        out.print(
            f"  {'|'.join(sorted(t.sources))} -> {t.target} by {', '.join(sorted(t.by))}{needs}"
        )
    out.print(f"  auto-close after {config.workflow.auto_close_after} in a solved status")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="Web processes")] = 1,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="No embedded worker")] = False,
) -> None:
    """Serve the web app and API (and, unless --no-worker, the background worker)."""
    from casedesk import worker
    from casedesk.channels.email import smtpd as listener
    from casedesk.web import serve as web_serve

    ctx = _ctx()
    if not no_worker:
        worker.start_in_thread(ctx)
    smtp = listener.start_configured(ctx)
    reload_on_hangup(ctx)  # the embedded worker and listener; each web process has its own
    err.print(
        f"casedesk on http://{host}:{port}  console: http://{host}:{port}/console  "
        f"API docs: http://{host}:{port}/api/docs"
    )
    try:
        web_serve.serve(host, port, workers=workers, log_level=Settings().log_level)
    finally:
        if smtp is not None:
            smtp.stop()


@app.command("worker")
def worker_cmd(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes")] = 5.0,
) -> None:
    """Run due background work: SLA sweeps and escalations, auto-close, notification delivery,
    mailbox polling, audit sealing. Any number of workers may run against PostgreSQL."""
    import logging

    from casedesk import worker

    logging.basicConfig(
        level=Settings().log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    ctx = _ctx()
    reload_on_hangup(ctx)
    if once:
        for problem in worker.startup_checks(ctx):
            err.print(f"[yellow]warning[/yellow] {problem}")
        out.print(worker.run_once(ctx))
        return
    worker.run_forever(ctx, interval=interval)


@app.command()
def smtpd(
    host: Annotated[str | None, typer.Option(help="Default: email.smtpd.host")] = None,
    port: Annotated[int | None, typer.Option(help="Default: email.smtpd.port")] = None,
    processes: Annotated[int, typer.Option(help="Listener processes sharing the port")] = 1,
) -> None:
    """Receive e-mail over SMTP into the case queue."""
    from casedesk import processes as shared_port
    from casedesk.channels.email import smtpd as listener
    from casedesk.config_email import email_settings

    ctx = _ctx()
    configured = email_settings(ctx.config).smtpd
    host, port = host or configured.host, port or configured.port
    if processes > 1 and shared_port.can_share_ports():
        ctx.db.dispose()
        print(f"casedesk SMTP listener on {host}:{port} ({processes} processes)", flush=True)
        listener.run_processes(host, port, processes)
    else:
        listener.run(ctx, host, port)


@app.command()
def demo() -> None:
    """Load a realistic demo data set."""
    from casedesk import demo as demo_data

    err.print(f"loaded {demo_data.load(_ctx())} demo cases")


bench_app = typer.Typer(help="Benchmark data.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("generate")
def bench_generate(
    cases: Annotated[int, typer.Option(help="How many cases")] = 100_000,
    seed: int = 7,
) -> None:
    """Build a large realistic data set with bulk inserts."""
    from casedesk import datagen

    started = time.perf_counter()
    written = datagen.generate(_ctx(), cases=cases, seed=seed)
    err.print(f"generated {written} cases in {time.perf_counter() - started:.1f} s")


def main() -> None:
    app()
