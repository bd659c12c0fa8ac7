"""Finding where a config path such as ``workflow.transitions[2].to`` is written in a TOML file.

``tomllib`` keeps no positions, so errors found after parsing are located again in the source
text: table headers, ``key =`` lines and the n-th inline table of an array, the shapes that the
documented config uses. When a path cannot be followed to the end, the deepest part found is
reported, which still points the reader at the right block.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]


def locate(text: str, path: Path) -> tuple[int, int]:
    """1-based (line, column) of ``path`` in ``text``; (1, 1) when nothing matches."""
    lines = text.splitlines()
    window = (0, len(lines))
    found = (0, 0)
    i = 0
    while i < len(path):
        step = _header(lines, path, i)
        if step is not None:
            line_no, consumed = step
            found = (line_no, 0)
            window = (line_no + 1, _next_header(lines, line_no + 1))
            i += consumed
            continue
        part = path[i]
        if isinstance(part, str):
            hit = _key(lines, window, part)
            if hit is None:
                break
            found = hit
            window = (hit[0], _value_end(lines, hit[0], window[1]))
        else:
            hit = _nth_item(lines, window, found, part)
            if hit is None:
                break
            found = hit
            window = (hit[0], hit[0] + 1)
        i += 1
    return found[0] + 1, found[1] + 1


def _header(lines: list[str], path: Path, start: int) -> tuple[int, int] | None:
    """The header line for the longest run of keys at ``path[start:]`` (``[a.b]`` or the n-th
    ``[[a.b]]``) and how many path parts it consumed."""
    keys: list[str] = []
    for part in path[start:]:
        if not isinstance(part, str):
            break
        keys.append(part)
    prefix = [p for p in path[:start] if isinstance(p, str)]
    for n in range(len(keys), 0, -1):
        name = ".".join([*prefix, *keys[:n]]) if start else ".".join(keys[:n])
        after = start + n
        index = path[after] if after < len(path) and isinstance(path[after], int) else None
        matches = [
            ln
            for ln, line in enumerate(lines)
            if re.fullmatch(rf"\s*\[\[\s*{re.escape(name)}\s*\]\]\s*(#.*)?", line)
        ]
        if matches and index is not None and index < len(matches):
            return matches[index], n + 1
        for ln, line in enumerate(lines):
            if re.fullmatch(rf"\s*\[\s*{re.escape(name)}\s*\]\s*(#.*)?", line):
                return ln, n
    return None


def _next_header(lines: list[str], start: int) -> int:
    for ln in range(start, len(lines)):
        if re.match(r"\s*\[", lines[ln]) and not re.match(r"\s*\[\s*[\"'{\d]", lines[ln]):
            return ln
    return len(lines)


def _key(lines: list[str], window: tuple[int, int], key: str) -> tuple[int, int] | None:
    pattern = re.compile(rf"(^|[\s{{,])(\"?{re.escape(key)}\"?)\s*=")
    for ln in range(*window):
        m = pattern.search(lines[ln])
        if m:
            return ln, m.start(2)
    return None


def _value_end(lines: list[str], start: int, limit: int) -> int:
    """Last line (exclusive) of a value that may span lines, by bracket balance."""
    depth = 0
    for ln in range(start, limit):
        text = re.sub(r'"[^"]*"', '""', lines[ln].split("#")[0])
        depth += text.count("[") + text.count("{") - text.count("]") - text.count("}")
        if depth <= 0:
            return ln + 1
    return limit


def _nth_item(
    lines: list[str], window: tuple[int, int], found: tuple[int, int], index: int
) -> tuple[int, int] | None:
    """The n-th ``{ ... }`` inline table of an array value, one per line as documented."""
    count = -1
    for ln in range(*window):
        col_start = found[1] if ln == found[0] else 0
        for m in re.finditer(r"\{", lines[ln][col_start:]):
            count += 1
            if count == index:
                return ln, col_start + m.start()
    return None
