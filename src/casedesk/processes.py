"""Several processes serving one port: ``casedesk serve --workers N`` and
``casedesk smtpd --processes N``.

Each process binds its own listening socket with ``SO_REUSEPORT``, so the kernel spreads new
connections across the processes as they arrive. (With one shared listening socket, the process
that wakes first accepts a whole burst of connections, and keep-alive connections then pin the
load on it while the others idle.) The ``Supervisor`` starts the processes, restarts one that
dies, passes SIGHUP (config reload) on to them and stops them all on SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

STARTUP_FAILURE = 3  # exit code of a process that cannot start (uvicorn's, too)
RESTART_PAUSE = 1.0

log = logging.getLogger("casedesk.processes")


def can_share_ports() -> bool:
    """Whether the kernel balances connections over sockets sharing a port: Linux does; on the
    BSDs and macOS ``SO_REUSEPORT`` exists but one socket takes every connection."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def shared_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that the other processes of this server bind too."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def check_free(host: str, port: int) -> None:
    """Fail fast, with the OS's reason, when another program holds the address."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    finally:
        probe.close()


class Supervisor:
    """Keeps ``count`` processes running ``target(*args)`` until told to stop."""

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], count: int) -> None:
        self.target, self.args, self.count = target, args, count
        self.stopping = threading.Event()
        # spawn, not fork: the parent may hold database pools and threads (the embedded worker).
        self.mp = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = []

    def _start(self) -> BaseProcess:
        process = self.mp.Process(target=self.target, args=self.args)
        # The new process inherits a blocked SIGHUP: a reload signalled while it is still
        # starting would otherwise kill it (SIGHUP's default action). Installing its reload
        # handler unblocks it, so a reload asked for during start-up still happens then.
        with _hangup_blocked():
            process.start()
        return process

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def _pass_on(self, signum: int, _frame: FrameType | None) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signum)

    def run(self) -> bool:
        """Run until SIGINT/SIGTERM; ``False`` when a process could not start."""
        started = True
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        if hasattr(signal, "SIGHUP"):  # config reload: this process's own handler, then each child
            own = signal.getsignal(signal.SIGHUP)
            previous[signal.SIGHUP] = own

            def hangup(signum: int, frame: FrameType | None) -> None:
                if callable(own):
                    own(signum, frame)
                self._pass_on(signum, frame)

            signal.signal(signal.SIGHUP, hangup)
        try:
            self.processes = [self._start() for _ in range(self.count)]
            while not self.stopping.wait(0.5):
                for i, process in enumerate(self.processes):
                    if process.is_alive():
                        continue
                    if process.exitcode == STARTUP_FAILURE:
                        log.error("a process could not start; stopping")
                        started = False
                        self.stopping.set()
                        break
                    log.warning("process %s exited (%s); restarting", process.pid, process.exitcode)
                    time.sleep(RESTART_PAUSE)
                    self.processes[i] = self._start()
        finally:
            for process in self.processes:
                if process.is_alive():
                    process.terminate()  # each process shuts down gracefully on SIGTERM
            for process in self.processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return started


@contextmanager
def _hangup_blocked() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask") or not hasattr(signal, "SIGHUP"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def run_processes(
    host: str, port: int, target: Callable[..., None], args: tuple[Any, ...], count: int
) -> None:
    """Run ``count`` processes of ``target(*args)`` sharing ``host:port``; exits non-zero when
    they cannot start."""
    check_free(host, port)
    if not Supervisor(target, args, count).run():
        raise SystemExit(STARTUP_FAILURE)
