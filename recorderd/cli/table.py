"""Text tables for the read-side commands: a header, columns padded to their widest cell."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

GAP = "  "


class Table:
    """Columns named in `header`; those in `right` are right-aligned (numbers). `widths` are
    minimum widths, so that lines printed one by one (`--follow`) line up with the header."""

    def __init__(
        self, header: Sequence[str], *, right: Sequence[str] = (), widths: dict[str, int] | None = None
    ) -> None:
        self.header = list(header)
        self.right = {self.header.index(c) for c in right}
        self.widths = [max(len(c), (widths or {}).get(c, 0)) for c in self.header]

    def fit(self, rows: Sequence[Sequence[str]]) -> None:
        """Widen the columns for `rows` (all rows of a listing, before any is printed)."""
        for row in rows:
            self.widths = [max(w, len(cell)) for w, cell in zip(self.widths, row, strict=True)]

    def line(self, row: Sequence[str]) -> str:
        cells = [
            cell.rjust(w) if i in self.right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, self.widths, strict=True))
        ]
        return GAP.join(cells).rstrip()

    def head(self) -> str:
        return self.line(self.header)

    def render(self, rows: Sequence[Sequence[str]]) -> list[str]:
        """The header and `rows`, all lined up; nothing for no rows."""
        if not rows:
            return []
        self.fit(rows)
        return [self.head(), *(self.line(r) for r in rows)]


def span(start: datetime, end: datetime | None, zone: ZoneInfo, open_text: str) -> tuple[str, str, str]:
    """START, END and LENGTH cells: the end without its date when it is the start's day."""
    s = start.astimezone(zone)
    if end is None:
        return f"{s:%Y-%m-%d %H:%M:%S}", open_text, ""
    e = end.astimezone(zone)
    end_text = f"{e:%H:%M:%S}" if e.date() == s.date() else f"{e:%Y-%m-%d %H:%M:%S}"
    return f"{s:%Y-%m-%d %H:%M:%S}", end_text, f"{(end - start).total_seconds():.1f}s"
