"""Running the web app: in this process, or in several processes that each accept their own
connections (``casedesk.processes``), so the load spreads evenly across them."""

from __future__ import annotations

import uvicorn

from casedesk import processes
from casedesk.reload import reload_on_hangup
from casedesk.web.app import create_app

APP = "casedesk.web.app:create_app"


def serve(host: str, port: int, *, workers: int, log_level: str) -> None:
    """Serve on ``host:port`` with ``workers`` processes (in this process when 1). Each process
    re-reads the config on SIGHUP."""
    if workers <= 1:
        app = create_app()
        reload_on_hangup(app.state.ctx)
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
        return
    if not processes.can_share_ports():
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
    app = create_app()
    reload_on_hangup(app.state.ctx)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
