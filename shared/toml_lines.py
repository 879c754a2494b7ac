"""Line numbers for a TOML file's tables and keys, which tomllib does not keep: so that a
configuration error can name the line at fault, not only the key."""

from __future__ import annotations

import re
from collections.abc import Sequence

_ARRAY_HEADER = re.compile(r"^\[\[\s*([^\]]+?)\s*\]\]")
_HEADER = re.compile(r"^\[\s*([^\]]+?)\s*\]")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""  # a bare or quoted key
_KEY = re.compile(rf"^({_PART}(?:\s*\.\s*{_PART})*)\s*=")
KeyPath = tuple[str | int, ...]


def _dotted(key: str) -> list[str]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', key)
    return [next(p for p in part if p) if any(part) else "" for part in parts]


class TomlLines:
    """Maps each table header and key of a TOML text to its line; `[[name]]` tables count
    from 0, as the parsed list does. Multi-line values are not looked into."""

    def __init__(self, text: str) -> None:
        self.lines: dict[KeyPath, int] = {}
        arrays: dict[tuple[str, ...], int] = {}
        table: KeyPath = ()
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if found := _ARRAY_HEADER.match(line):
                name = tuple(_dotted(found[1]))
                arrays[name] = arrays.get(name, -1) + 1
                table = (*name, arrays[name])
            elif found := _HEADER.match(line):
                name = tuple(_dotted(found[1]))
                # A sub-table of an array's last element: [member.channels] after [[member]].
                parent = name[:1]
                table = ((*parent, arrays[parent], *name[1:]) if parent in arrays and
                         len(name) > 1 else name)
            elif found := _KEY.match(line):
                self.lines.setdefault((*table, *_dotted(found[1])), number)
                continue
            else:
                continue
            self.lines.setdefault(table, number)

    def line(self, loc: Sequence[str | int]) -> int | None:
        """The line of the longest known prefix of `loc` (a key's path, as pydantic gives
        it): the key itself, else the table it should have been in."""
        path = tuple(str(part) if isinstance(part, str) else part for part in loc)
        for end in range(len(path), 0, -1):
            if (number := self.lines.get(path[:end])) is not None:
                return number
        return None
