"""VAPIX (param.cgi API v3.00, Axis): `action=list` output and io/port.cgi check answers.

    root.Network.IPAddress=10.13.12.36      (`root.` prefix or not: stored without it)
    # Error: <description>                   (also `# Request failed: ...`)

Real output has bare LF, values with trailing spaces (stripped here) and, on some firmware, latin-1
text: each line is decoded as UTF-8, or latin-1 when it is not valid UTF-8. Dynamic groups
(`Event.E0.Name`, `Motion.M3.Top`) are grouped by `groups()`. Motion levels and the input monitor
of VAPIX cameras use the same text as the Open API: see `openapi`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from recorderd.protocol.errors import PartlyRead, ProtocolError
from recorderd.protocol.events import TriggerSample
from recorderd.protocol.text import decode_text, text_lines

__all__ = [
    "ParamList",
    "event_groups",
    "groups",
    "motion_windows",
    "parse_param_list",
    "parse_port_check",
    "require",
    "samples",
]


@dataclass(slots=True)
class ParamList:
    """Parsed list output: parameters (names without `root.`), error lines, other non-blank lines."""

    params: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


def parse_param_list(body: str | bytes) -> ParamList:
    """Every `name=value` line; `# Error:`/`# Request failed:` lines go to `errors` (text after ':')."""
    result = ParamList()
    lines = text_lines(body) if isinstance(body, str) else [decode_text(b) for b in body.splitlines()]
    for raw in lines:
        line = raw.strip("\r\n")
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            text = line.lstrip()[1:].strip()
            low = text.lower()
            if low.startswith("error") or low.startswith("request failed"):
                result.errors.append(text.split(":", 1)[1].strip() if ":" in text else text)
            else:
                result.other.append(text)
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name or " " in name:
            result.other.append(line.strip())
            continue
        if name.startswith("root."):
            name = name[5:]
        result.params[name] = value.rstrip()
    return result


_GROUP_INDEX = re.compile(r"([A-Za-z]+)([0-9]{1,6})$")


def groups(params: dict[str, str], prefix: str) -> dict[str, dict[str, str]]:
    """Dynamic groups under `prefix`: groups(p, "Event") -> {"E0": {"Name": ..., "Type": ...}}."""
    out: dict[str, dict[str, str]] = {}
    head = prefix.rstrip(".") + "."
    for name, value in params.items():
        if not name.startswith(head):
            continue
        group, _, rest = name[len(head) :].partition(".")
        if rest and _GROUP_INDEX.fullmatch(group):
            out.setdefault(group, {})[rest] = value
    return out


def event_groups(params: dict[str, str]) -> dict[str, dict[str, str]]:
    """Event.E# groups, keyed "E0", "E1", ..."""
    return groups(params, "Event")


def motion_windows(params: dict[str, str]) -> dict[int, dict[str, str]]:
    """Motion.M# windows keyed by their number (the `group=` of motion-level lines)."""
    out: dict[int, dict[str, str]] = {}
    for key, fields in groups(params, "Motion").items():
        m = _GROUP_INDEX.fullmatch(key)
        if m is not None and m.group(1) == "M":
            out[int(m.group(2))] = fields
    return out


_CHECK = re.compile(r"^\s*(input|output|in|out)\s*([0-9]{1,4})\s*=\s*(\S+)\s*$", re.IGNORECASE)
_STATES = {"1": True, "active": True, "0": False, "inactive": False}


def parse_port_check(text: str | bytes) -> list[TriggerSample]:
    """io/port.cgi (input.cgi, output.cgi) `check`/`checkactive` answers: `input1=active`, `output2=0`.

    The ids are the request's ids, which count from 1 (input1 = input:1). `checkactive` is what
    the engine should ask: `check` reports the raw 1/0 which is read here as active/inactive.
    Other lines are ignored; a port with an unknown state is skipped and reported: PartlyRead with
    the other ports.
    """
    out: list[TriggerSample] = []
    problems: list[str] = []
    for raw in text_lines(text):
        m = _CHECK.match(raw)
        if m is None:
            continue
        state = _STATES.get(m.group(3).lower())
        if state is None:
            problems.append(f"paramcgi: unknown port state {m.group(3)[:20]!r}")
            continue
        kind = "input" if m.group(1).lower().startswith("in") else "output"
        out.append(TriggerSample(f"{kind}:{int(m.group(2))}", state))
    if problems:
        raise PartlyRead(problems, out)
    return out


def samples(text: str | bytes) -> list[TriggerSample]:
    """A port check answer -> samples (motion/IO streams: `openapi.samples`)."""
    return parse_port_check(text)


def require(params: ParamList) -> ParamList:
    """`params` unchanged, or ProtocolError carrying the camera's first error line."""
    if params.errors:
        raise ProtocolError(f"paramcgi: camera reported an error: {params.errors[0][:120]}")
    return params
