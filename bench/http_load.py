"""A tiny keep-alive HTTP/1.1 load client on asyncio streams.

A full client library costs more CPU per request than the server under test on a 2-core machine;
this one only writes the request and reads ``Content-Length`` bytes back, so the figures measure
casedesk rather than the client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Connection:
    host: str
    port: int
    token: str
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        assert self.reader and self.writer
        payload = b"" if body is None else json.dumps(body).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n{extra}\r\n"
        )
        self.writer.write(head.encode() + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        data = await self.reader.readexactly(length) if length else b""
        return status, json.loads(data) if data else None

    async def close(self) -> None:
        if self.writer:
            self.writer.close()


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    results: list[Any] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def _run(
    host: str,
    port: int,
    token: str,
    clients: int,
    total: int,
    make: Callable[[int], tuple[str, str, Any, dict[str, str] | None]],
    expect: int,
) -> LoadResult:
    connections = [Connection(host, port, token) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in connections))
    counter = iter(range(total))
    result = LoadResult(total, 0.0)

    async def client(conn: Connection) -> None:
        for i in counter:
            method, path, body, headers = make(i)
            t0 = time.perf_counter()
            status, data = await conn.request(method, path, body, headers)
            result.latencies_ms.append((time.perf_counter() - t0) * 1000)
            if status != expect:
                result.errors += 1
            result.results.append(data)

    start = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    result.seconds = time.perf_counter() - start
    await asyncio.gather(*(c.close() for c in connections))
    return result


def run_load(
    host: str,
    port: int,
    token: str,
    *,
    clients: int,
    total: int,
    make: Callable[[int], tuple[str, str, Any, dict[str, str] | None]],
    expect: int = 200,
) -> LoadResult:
    """``total`` requests built by ``make(i)`` over ``clients`` concurrent keep-alive sockets."""
    return asyncio.run(_run(host, port, token, clients, total, make, expect))
