"""Reading a fixture's expect.txt and turning its places into LSP positions and back.

expect.txt lines look like ``def main.py:8:12 => shop.services.pricing.Cart`` or
``refs shop/util.py:6:5 => a.py:1:2 b.py:3:4``: places are FILE:LINE:COL, 1-based, COL
counting characters. LSP positions are 0-based and, unless negotiated otherwise, count
UTF-16 code units. Where a qualified name is defined is read from the fixture's own
source (``locate``), so the tests hold no copy of the fixture's line numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types


@dataclass(frozen=True, order=True)
class Place:
    """A place in a workspace: relative path, 1-based line, 1-based character column."""

    path: str
    line: int
    col: int

    @staticmethod
    def parse(spec: str) -> Place:
        path, line, col = spec.rsplit(":", 2)
        return Place(path, int(line), int(col))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Expectation:
    kind: str  # "def" or "refs"
    at: Place
    answer: str  # what follows "=>", whitespace-normalised

    def __str__(self) -> str:
        return f"{self.kind} {self.at} => {self.answer}"


def expectations(root: Path, kind: str) -> list[Expectation]:
    """The lines of ``root/expect.txt`` of one kind, in file order."""
    found = []
    for line in (root / "expect.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "=>" not in line:
            continue
        query, answer = (part.strip() for part in line.split("=>", 1))
        what, spec = query.split()
        if what == kind:
            found.append(Expectation(what, Place.parse(spec), " ".join(answer.split())))
    return found


def uri(root: Path, path: str) -> str:
    return (root / path).resolve().as_uri()


def line_text(root: Path, place: Place) -> str:
    return (root / place.path).read_text(encoding="utf-8").splitlines()[place.line - 1]


def lsp_position(root: Path, place: Place) -> types.Position:
    """The 0-based UTF-16 position of a place."""
    before = line_text(root, place)[: place.col - 1]
    units = len(before.encode("utf-16-le")) // 2
    return types.Position(line=place.line - 1, character=units)


def place_of(root: Path, location_uri: str, position: types.Position) -> Place:
    """The place of a UTF-16 position in a file under ``root``."""
    path = Path(unquote(urlparse(location_uri).path)).resolve()
    rel = path.relative_to(root.resolve()).as_posix()
    text = path.read_text(encoding="utf-8").splitlines()
    line = text[position.line] if position.line < len(text) else ""
    units = chars = 0
    for ch in line:
        if units >= position.character:
            break
        units += len(ch.encode("utf-16-le")) // 2
        chars += 1
    return Place(rel, position.line + 1, chars + 1)


def target_places(root: Path, result) -> list[Place]:
    """Where a definition answer leads: ``Location``s or ``LocationLink``s (their
    selection range, the name), sorted."""
    if result is None:
        return []
    if not isinstance(result, list):
        result = [result]
    places = []
    for item in result:
        if isinstance(item, types.LocationLink):
            places.append(
                place_of(root, item.target_uri, item.target_selection_range.start)
            )
        else:
            places.append(place_of(root, item.uri, item.range.start))
    return sorted(places)


def locate(root: Path, qualified_name: str) -> Place | None:
    """Where a Python qualified name is defined in the fixture, read from its source: a
    module is its file's first character; a class, function, method, module variable or
    ``self.`` attribute is its name. ``None`` if the source does not say."""
    parts = qualified_name.split(".")
    for i in range(len(parts), 0, -1):
        base = root.joinpath(*parts[:i])
        module = next(
            (p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()),
            None,
        )
        if module is not None:
            rest = parts[i:]
            break
    else:
        return None
    rel = module.relative_to(root).as_posix()
    if not rest:
        return Place(rel, 1, 1)
    lines = module.read_text(encoding="utf-8").splitlines()
    start, indent, found = 0, -1, None
    for name in rest:
        found = None
        patterns = [
            rf"(\s*)(?:async\s+)?(?:def|class)\s+({re.escape(name)})\b",
            rf"(\s*)({re.escape(name)})\s*(?::[^=]*)?=(?!=)",
            rf"(\s*)self\.({re.escape(name)})\s*(?::[^=]*)?=(?!=)",
        ]
        for n in range(start, len(lines)):
            line = lines[n]
            depth = len(line) - len(line.lstrip())
            if line.strip() and depth <= indent:
                break  # left the enclosing block
            match = next((m for p in patterns if (m := re.match(p, line))), None)
            if match and len(match.group(1)) > indent:
                found = (n, match.start(2), len(match.group(1)))
                break
        if found is None:
            return None
        start, indent = found[0] + 1, found[2]
    line_no, col, _ = found
    return Place(rel, line_no + 1, col + 1)
