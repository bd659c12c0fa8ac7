"""Finding where a config path such as ``workflow.transitions[2].to`` is written in a TOML file.

``tomllib`` keeps no positions, so errors found after parsing are located again in the source
text. A small scanner walks the text once, skipping strings and comments, and records where
every key, table header (``[a.b]``, the n-th ``[[a.b]]``, nested ``[[a.b.c]]`` counted per
parent element), dotted key and array element (inline tables and plain values, on one line or
many) starts. When a path cannot be followed to the end, the deepest part found is reported,
which still points the reader at the right block.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from bisect import bisect_right

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]\}\n#]*")


def locate(text: str, path: Path) -> tuple[int, int]:
    """1-based (line, column) of ``path`` in ``text``; (1, 1) when nothing matches."""
    found = positions(text)
    for end in range(len(path), 0, -1):
        hit = found.get(tuple(path[:end]))
        if hit is not None:
            return hit[0] + 1, hit[1] + 1
    return 1, 1


def positions(text: str) -> dict[Path, tuple[int, int]]:
    """0-based (line, column) of every key, header and array element path in ``text``.

    Best effort on text that is not valid TOML: what was found before the scanner got lost is
    returned."""
    scanner = _Scanner(text)
    with contextlib.suppress(_Lost, IndexError):
        scanner.document()
    return scanner.found


class _Lost(Exception):
    """The text is not in a shape the scanner understands."""


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.found: dict[Path, tuple[int, int]] = {}
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self._aot_last: dict[Path, int] = {}

    # -- positions ---------------------------------------------------------------------------

    def _where(self, pos: int) -> tuple[int, int]:
        line = bisect_right(self._line_starts, pos) - 1
        return line, pos - self._line_starts[line]

    def _mark(self, path: Path, pos: int) -> None:
        self.found.setdefault(path, self._where(pos))

    # -- low level ---------------------------------------------------------------------------

    def _peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def _skip_blank(self, newlines: bool) -> None:
        """Skip spaces (and newlines and comments when ``newlines``)."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.pos += 1
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def _expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise _Lost(f"expected {token!r} at {self.pos}")
        self.pos += len(token)

    # -- grammar -----------------------------------------------------------------------------

    def document(self) -> None:
        table: Path = ()
        while True:
            self._skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            if self._peek() == "[":
                table = self._header()
            else:
                self._key_value(table)
                self._skip_blank(newlines=False)
                if self.pos < len(self.text) and self._peek() != "\n":
                    raise _Lost(f"junk after a value at {self.pos}")

    def _header(self) -> Path:
        start = self.pos
        array = self._peek(2) == "[["
        self.pos += 2 if array else 1
        keys = [key for key, _ in self._key_parts()]
        self._expect("]]" if array else "]")
        concrete: Path = ()
        for n, key in enumerate(keys):
            concrete = (*concrete, key)
            self._mark(concrete, start)
            last = n == len(keys) - 1
            if concrete in self._aot_last and not (array and last):
                concrete = (*concrete, self._aot_last[concrete])
        if array:
            index = self._aot_last.get(concrete, -1) + 1
            self._aot_last[concrete] = index
            concrete = (*concrete, index)
            self._mark(concrete, start)
        return concrete

    def _key_parts(self) -> list[tuple[str, int]]:
        """A dotted key: each part with the position it starts at."""
        parts = []
        while True:
            self._skip_blank(newlines=False)
            start = self.pos
            ch = self._peek()
            if ch in ('"', "'"):
                key = _unquote(self.text[start : self._string_end()])
            else:
                m = _BARE_KEY.match(self.text, self.pos)
                if not m:
                    raise _Lost(f"expected a key at {self.pos}")
                key = m.group()
                self.pos = m.end()
            parts.append((key, start))
            self._skip_blank(newlines=False)
            if self._peek() != ".":
                return parts
            self.pos += 1

    def _key_value(self, table: Path) -> None:
        path = table
        for key, start in self._key_parts():
            path = (*path, key)
            self._mark(path, start)
        self._expect("=")
        self._skip_blank(newlines=False)
        self._value(path)

    def _value(self, path: Path) -> None:
        ch = self._peek()
        if ch in ('"', "'"):
            self.pos = self._string_end()
        elif ch == "[":
            self._array(path)
        elif ch == "{":
            self._inline_table(path)
        else:
            m = _SCALAR.match(self.text, self.pos)
            if m is None or not m.group().strip():
                raise _Lost(f"expected a value at {self.pos}")
            self.pos = m.start() + len(m.group().rstrip())

    def _array(self, path: Path) -> None:
        self._expect("[")
        index = 0
        while True:
            self._skip_blank(newlines=True)
            if self._peek() == "]":
                self.pos += 1
                return
            self._mark((*path, index), self.pos)
            self._value((*path, index))
            index += 1
            self._skip_blank(newlines=True)
            if self._peek() == ",":
                self.pos += 1
            elif self._peek() != "]":
                raise _Lost(f"expected ',' or ']' at {self.pos}")

    def _inline_table(self, path: Path) -> None:
        self._expect("{")
        while True:
            self._skip_blank(newlines=True)
            if self._peek() == "}":
                self.pos += 1
                return
            self._key_value(path)
            self._skip_blank(newlines=True)
            if self._peek() == ",":
                self.pos += 1
            elif self._peek() != "}":
                raise _Lost(f"expected ',' or '}}' at {self.pos}")

    def _string_end(self) -> int:
        """Position just after the string (any of the four TOML kinds) starting at ``pos``."""
        text, pos = self.text, self.pos
        quote = text[pos]
        if text.startswith(quote * 3, pos):
            end = pos + 3
            while True:
                end = text.find(quote * 3, end)
                if end < 0:
                    raise _Lost("unterminated multi-line string")
                if quote == '"' and _escaped(text, end):
                    end += 1
                    continue
                end += 3
                extra = 0
                while extra < 2 and end < len(text) and text[end] == quote:
                    end += 1
                    extra += 1
                self.pos = end
                return end
        end = pos + 1
        while end < len(text):
            ch = text[end]
            if ch == "\n":
                break
            if ch == "\\" and quote == '"':
                end += 2
                continue
            if ch == quote:
                self.pos = end + 1
                return end + 1
            end += 1
        raise _Lost("unterminated string")


def _escaped(text: str, pos: int) -> bool:
    """Whether the character at ``pos`` follows an odd number of backslashes."""
    count = 0
    while pos - count - 1 >= 0 and text[pos - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _unquote(raw: str) -> str:
    """The key a quoted TOML key spells."""
    try:
        return str(tomllib.loads(f"k = {raw}")["k"])
    except tomllib.TOMLDecodeError:
        return raw[1:-1]
