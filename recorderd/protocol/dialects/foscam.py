"""Foscam CGI (Foscam/Netwave): JavaScript-variable bodies, alarm_status, `ok.`/`error:` results.

get_status.cgi and get_params.cgi answer with lines such as `var alias='R2D2';`. Real firmware varies:
double quotes, CRLF, no `var ` prefix, `;` or `=` inside quoted values, empty values, array elements
(`ap_ssid[0]='x';`), schedule words printed unsigned or signed. `parse_vars` accepts all of these and
ignores lines it cannot read (a camera's stray HTML must not cost the variables around it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recorderd.protocol.errors import ProtocolError
from recorderd.protocol.events import TriggerSample
from recorderd.protocol.text import decode_text, text_lines

__all__ = [
    "SCHEDULE_DAYS",
    "Result",
    "parse_result",
    "parse_status",
    "parse_vars",
    "samples_from_status",
    "schedule_words",
]

# One statement: optional `var`, a name (or name[index]), `=`, then a quoted or bare value, ended by
# `;`, end of line or end of text. A quoted value may hold `;`, `=` and backslash escapes; an
# unterminated quote runs to the end of the line.
_STMT = re.compile(
    r"""
    [ \t]*(?:var[ \t]+)?
    (?P<name>[A-Za-z_$][\w$]*(?:\[[ \t]*\d+[ \t]*\])?)
    [ \t]*=[ \t]*
    (?:
        '(?P<sq>(?:[^'\\\r\n]|\\.)*)'
      | "(?P<dq>(?:[^"\\\r\n]|\\.)*)"
      | ['"](?P<open>[^\r\n]*?)[ \t]*(?=$)
      | (?P<bare>[^;\r\n]*?)
    )
    [ \t]*(?:;|$)
    """,
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


def _unescape(value: str) -> str:
    # JavaScript-style: \n \r \t become controls, \<other> becomes <other> (\' \" \\).
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), value)


def parse_vars(text: str | bytes) -> dict[str, str]:
    """Every `name=value` assignment in a Foscam CGI body, values unquoted and unescaped.

    Later assignments win. Array elements keep their index in the name (`ap_ssid[0]`) with spaces
    removed; bare values are stripped (`new Array()` stays as that text). Never raises.
    """
    out: dict[str, str] = {}
    for line in text_lines(text):
        pos = 0
        end = len(line)
        while pos < end:
            m = _STMT.match(line, pos)
            if m is None or m.end() == pos:
                break
            name = m.group("name").replace(" ", "").replace("\t", "")
            sq, dq, opened = m.group("sq"), m.group("dq"), m.group("open")
            if sq is not None:
                out[name] = _unescape(sq)
            elif dq is not None:
                out[name] = _unescape(dq)
            elif opened is not None:
                out[name] = opened
            else:
                out[name] = (m.group("bare") or "").strip()
            pos = m.end()
    return out


SCHEDULE_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def schedule_words(
    variables: dict[str, str], prefix: str = "alarm_schedule"
) -> dict[str, tuple[int, int, int]]:
    """The 96-slot schedule words per day (`sun`..`sat`), each word as unsigned 32-bit.

    Firmware prints the words unsigned (4294967264) or signed (-32); both give the same bits. A day
    with a missing or non-numeric word is left out rather than guessed.
    """
    days: dict[str, tuple[int, int, int]] = {}
    for day in SCHEDULE_DAYS:
        words: list[int] = []
        for i in range(3):
            raw = variables.get(f"{prefix}_{day}_{i}")
            try:
                value = int(raw) if raw is not None else None
            except ValueError:
                value = None
            if value is None or not -(2**31) <= value < 2**32:
                break
            words.append(value & 0xFFFFFFFF)
        if len(words) == 3:
            days[day] = (words[0], words[1], words[2])
    return days


# alarm_status (get_status.cgi): 0 no alarm, 1 motion, 2 input, 3 sound ("voice detection").
_ALARM_TRIGGERS = {1: "motion", 2: "input:1", 3: "sound"}


def samples_from_status(variables: dict[str, str]) -> list[TriggerSample]:
    """One sample per Foscam trigger from get_status's `alarm_status`; [] if it is absent.

    The camera reports a single cause at a time, so the others are reported inactive. An unknown
    code raises ProtocolError.
    """
    raw = variables.get("alarm_status")
    if raw is None:
        return []
    try:
        code = int(raw)
    except ValueError:
        raise ProtocolError(f"foscam: alarm_status is not a number: {raw[:40]!r}") from None
    if code != 0 and code not in _ALARM_TRIGGERS:
        raise ProtocolError(f"foscam: unknown alarm_status {code}")
    return [TriggerSample(trigger, code == c) for c, trigger in _ALARM_TRIGGERS.items()]


def parse_status(text: str | bytes) -> list[TriggerSample]:
    """get_status.cgi body -> trigger samples (the dialect's text-to-samples entry point)."""
    return samples_from_status(parse_vars(text))


@dataclass(frozen=True, slots=True)
class Result:
    """Outcome of a set_*.cgi / operation CGI: `ok.` or `error: <message>`."""

    ok: bool
    message: str = ""


def parse_result(text: str | bytes) -> Result:
    """`ok` / `ok.` -> Result(True); `error: illegal param` -> Result(False, 'illegal param').

    Anything else (an HTML page from next_url, empty body) raises ProtocolError.
    """
    body = decode_text(text).strip()
    low = body.lower()
    if low in ("ok", "ok."):
        return Result(True)
    if low.startswith("error"):
        message = body[5:].lstrip(" :\t").strip()
        return Result(False, message[:200])
    raise ProtocolError(f"foscam: unrecognised CGI result {body[:40]!r}")
