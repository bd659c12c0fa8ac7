"""Looking at running server processes through /proc (Linux): their children, the sockets
they listen on and the connections each holds."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    """The server processes under ``pid`` (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == pid and b"resource_tracker" not in cmdline:
                found.append(int(entry.name))
    return found


def listeners(port: int) -> int:
    """Sockets listening on ``port`` (one per server process with SO_REUSEPORT)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1 for f in map(str.split, lines) if int(f[1].split(":")[1], 16) == port and f[3] == "0A"
    )


def established(pid: int, port: int) -> int:
    """Connections to ``port`` that process ``pid`` has accepted and holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:
            count += 1
    return count


def wait_until(condition: Callable[[], object], timeout: float = 60) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)
