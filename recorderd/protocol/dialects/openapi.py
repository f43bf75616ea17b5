"""The IP Camera Open API and VAPIX (param.cgi API): motion-level lines and the I/O monitor.

Both documents share these text parts (motion.cgi / motion/motiondata.cgi, boundary `mdb`;
input.cgi / io/input.cgi?monitor=..., boundary `ioboundary`):

    group=0;level=28;threshold=45;      one line per motion window, several per part
    IO0:/   IO0:H                       port active (`/` rising edge, `H` high)
    IO0:\\   IO0:L                       port inactive (`\\` falling edge, `L` low)

with extra blank lines anywhere. Numbering: the monitor's `IO<n>` counts from 0 (VAPIX:
`monitor=1` answers `IO0`), so `IO0` is `input:1`. A window is active when its level is strictly
greater than its threshold; level == threshold is inactive.
"""

from __future__ import annotations

import re
from typing import Literal

from recorderd.protocol.errors import PartlyRead
from recorderd.protocol.events import TriggerSample
from recorderd.protocol.text import text_lines

__all__ = ["parse_io", "parse_motion", "samples"]

_IO = re.compile(r"IO([0-9]{1,3})\s*:\s*(\S)")
_ACTIVE = {"/": True, "H": True, "h": True, "\\": False, "L": False, "l": False}
_PAIR = re.compile(r"([A-Za-z_]\w*)\s*=\s*(-?[0-9]{1,12})(?![0-9])")


def parse_motion(text: str | bytes) -> list[TriggerSample]:
    """Motion-level lines -> `motion:<group>` per window, then one `motion` for the whole part.

    The aggregate `motion` is active when any window is; its level and threshold are those of the
    window furthest above (or least below) its threshold. Lines that are not motion lines are
    ignored; a motion line without a numeric level or threshold is skipped and reported: PartlyRead
    with the other windows.
    """
    out: list[TriggerSample] = []
    problems: list[str] = []
    for raw in text_lines(text):
        line = raw.strip()
        if "group" not in line:
            continue
        # several windows may share a line when a camera drops the line breaks
        for chunk in re.split(r"(?=\bgroup\s*=)", line):
            fields = dict(_PAIR.findall(chunk))
            if "group" not in fields:
                continue
            try:
                group, level, threshold = fields["group"], int(fields["level"]), int(fields["threshold"])
            except KeyError:
                problems.append(f"openapi: motion line without level/threshold: {chunk[:60]!r}")
                continue
            out.append(TriggerSample(f"motion:{int(group)}", level > threshold, level, threshold))
    if out:
        best = max(out, key=lambda s: (s.level or 0) - (s.threshold or 0))
        out.append(TriggerSample("motion", any(s.active for s in out), best.level, best.threshold))
    if problems:
        raise PartlyRead(problems, out)
    return out


def parse_io(text: str | bytes, kind: Literal["input", "output"] = "input") -> list[TriggerSample]:
    """I/O monitor lines -> `input:<n+1>` (or `output:<n+1>` for output.cgi?monitor=...).

    Blank lines and other text are ignored; an `IO<n>:` line with an unknown state character is
    skipped and reported: PartlyRead with the other ports.
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', not {kind!r}")
    out: list[TriggerSample] = []
    problems: list[str] = []
    for raw in text_lines(text):
        m = _IO.match(raw.strip())
        if m is None:
            continue
        state = _ACTIVE.get(m.group(2))
        if state is None:
            problems.append(f"openapi: unknown I/O state {m.group(2)!r} in {raw.strip()[:40]!r}")
            continue
        out.append(TriggerSample(f"{kind}:{int(m.group(1)) + 1}", state))
    if problems:
        raise PartlyRead(problems, out)
    return out


def samples(text: str | bytes) -> list[TriggerSample]:
    """One text part of either stream -> samples (motion lines and input monitor lines)."""
    problems: list[str] = []
    out: list[TriggerSample] = []
    for parse in (parse_motion, parse_io):
        try:
            out += parse(text)
        except PartlyRead as e:
            problems += e.problems
            out += e.result
    if problems:
        raise PartlyRead(problems, out)
    return out
