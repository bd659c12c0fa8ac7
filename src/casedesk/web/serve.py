"""Running the web app in several processes that share the load evenly.

uvicorn's own ``--workers`` has every process accept from one shared listening socket. Under a
burst of new keep-alive connections (a proxy or a load balancer opening its pool) the process
that wakes first accepts all of them, and the other processes sit idle for as long as those
connections live. Here each process binds its own socket with ``SO_REUSEPORT`` instead, so the
kernel spreads connections across the processes as they arrive. The supervisor restarts a
process that dies and stops them all on SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

APP = "casedesk.web.app:create_app"
STARTUP_FAILURE = 3  # uvicorn's exit code when a process cannot start
RESTART_PAUSE = 1.0

log = logging.getLogger("casedesk.serve")


def serve(host: str, port: int, *, workers: int, log_level: str) -> None:
    """Serve on ``host:port`` with ``workers`` processes (in this process when 1)."""
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
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
    check_free(host, port)
    if not Supervisor(host, port, workers, log_level).run():
        raise SystemExit(STARTUP_FAILURE)


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other processes of this server may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def check_free(host: str, port: int) -> None:
    """Fail fast, with the OS's reason, when the address is taken by another program."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    finally:
        probe.close()


def _process_main(host: str, port: int, log_level: str) -> None:
    sock = listening_socket(host, port)
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, log_level=log_level, access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """Keeps ``workers`` server processes running until told to stop."""

    def __init__(self, host: str, port: int, workers: int, log_level: str) -> None:
        self.args = (host, port, log_level)
        self.workers = workers
        self.stopping = threading.Event()
        # spawn, not fork: the parent holds database pools and threads (the embedded worker).
        self.mp = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = []

    def _start(self) -> BaseProcess:
        process = self.mp.Process(target=_process_main, args=self.args, daemon=False)
        process.start()
        return process

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> bool:
        """Run until SIGINT/SIGTERM; ``False`` when a process could not start."""
        started = True
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.processes = [self._start() for _ in range(self.workers)]
            while not self.stopping.wait(0.5):
                for i, process in enumerate(self.processes):
                    if process.is_alive():
                        continue
                    if process.exitcode == STARTUP_FAILURE:
                        log.error("a server process could not start; stopping")
                        started = False
                        self.stopping.set()
                        break
                    log.warning(
                        "server process %s exited (%s); restarting", process.pid, process.exitcode
                    )
                    time.sleep(RESTART_PAUSE)
                    self.processes[i] = self._start()
        finally:
            for process in self.processes:
                if process.is_alive():
                    process.terminate()  # uvicorn shuts down gracefully on SIGTERM
            for process in self.processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return started
