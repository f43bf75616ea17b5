"""Durations, sizes and shares as they are written in the config ("5s", "2GiB", "90%").

The annotated types raise PydanticCustomError so that the message a user sees is exactly ours,
without pydantic's "Value error, " prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")
_SHARE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")


def _shown(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def parse_duration(value: Any) -> float:
    """'500ms', '5s', '10m', '2h', '30d' or compounds like '1h30m' -> seconds."""
    if isinstance(value, str) and value.strip():
        pos, total, text = 0, 0.0, value.strip()
        while pos < len(text):
            m = _DURATION_RE.match(text, pos)
            if not m:
                break
            total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
            pos = m.end()
        else:
            return total
    raise PydanticCustomError("duration", 'expected a duration like "5s", got {got}', {"got": _shown(value)})


def parse_size(value: Any) -> int:
    """'500MiB', '2GiB', '5GB' or a plain byte count -> bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        m = _SIZE_RE.fullmatch(value)
        if m and m.group(2).lower() in _SIZE_UNITS:
            return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
    raise PydanticCustomError("size", 'expected a size like "500MiB", got {got}', {"got": _shown(value)})


def parse_share(value: Any) -> float:
    """'90%' -> 0.9."""
    if isinstance(value, str):
        m = _SHARE_RE.fullmatch(value)
        if m and float(m.group(1)) <= 100:
            return float(m.group(1)) / 100
    raise PydanticCustomError("share", 'expected a share like "90%", got {got}', {"got": _shown(value)})


def format_duration(seconds: float) -> str:
    for unit in ("d", "h", "m", "s"):
        f = _DURATION_UNITS[unit]
        if seconds >= f and seconds % f == 0:
            return f"{int(seconds // f)}{unit}"
    return f"{round(seconds * 1000)}ms"


@dataclass(frozen=True)
class Usage:
    """A storage limit: a share of the filesystem or an absolute size."""

    share: float | None = None
    size: int | None = None

    def limit(self, fs_total: int) -> int:
        return int(fs_total * self.share) if self.share is not None else int(self.size or 0)

    def __str__(self) -> str:
        return f"{self.share * 100:g}%" if self.share is not None else f"{self.size} bytes"


def parse_usage(value: Any) -> Usage:
    if isinstance(value, Usage):
        return value
    if isinstance(value, str) and value.strip().endswith("%"):
        return Usage(share=parse_share(value))
    try:
        return Usage(size=parse_size(value))
    except PydanticCustomError:
        raise PydanticCustomError(
            "usage", 'expected a share like "90%" or a size like "500GiB", got {got}', {"got": _shown(value)}
        ) from None


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Share = Annotated[float, BeforeValidator(parse_share)]
UsageLimit = Annotated[Usage, BeforeValidator(parse_usage), PlainSerializer(str)]
