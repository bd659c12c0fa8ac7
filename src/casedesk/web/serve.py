"""Running the web app: in this process, or in several processes that each accept their own
connections (``casedesk.processes``), so the load spreads evenly across them."""

from __future__ import annotations

import uvicorn

from casedesk import processes

APP = "casedesk.web.app:create_app"


def serve(host: str, port: int, *, workers: int, log_level: str) -> None:
    """Serve on ``host:port`` with ``workers`` processes (in this process when 1)."""
    if workers <= 1 or not processes.can_share_ports():
        uvicorn.run(
            APP,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
        )
        return
    processes.run_processes(host, port, _process_main, (host, port, log_level), workers)


def _process_main(host: str, port: int, log_level: str) -> None:
    sock = processes.shared_socket(host, port)
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, log_level=log_level, access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])
