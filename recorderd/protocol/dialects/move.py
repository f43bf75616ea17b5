"""MOBOTIX MOVE: eventdata.cgi lines, `get` bodies and `monitor` parts alike.

    Motion:Enabled=1;Level=15;Sensitivity=80;Triggered=0;
    Motion1:Enabled=0;
    IO:Status=00000100000000;
    T0:Enabled=1;Triggered=1;
    Face:Enabled=1;H264_Face=2 0.5_0.4_0.2_0.3,0.8_0.1_0.2_0.3;H264_2_Face=0;

Groups: `Motion` (Event.E1) is window 0 and `Motion<n>` window n, reported as `motion:<n>` plus an
aggregate `motion` (any window triggered); `T0` is `tamper`; `Face` is `face` (active when any
stream reports at least one face; level = the largest face count); `IO` gives `input:1..8` and
`output:1..8` from the seven status bytes (bit 0 of each byte is port 1). A disabled event
(`Enabled=0`) is reported inactive; a group without `Triggered` (MotionParam=Enabled) gives no sample.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recorderd.protocol.errors import PartlyRead, ProtocolError
from recorderd.protocol.events import TriggerSample
from recorderd.protocol.text import text_lines

__all__ = ["IoStatus", "decode_io_status", "parse_eventdata", "samples"]

_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*:(.*)$")
_MOTION = re.compile(r"Motion([0-9]{0,4})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class IoStatus:
    """`IO:Status` decoded: seven bit masks, bit 0 = port 1 (`a2` -> ports 8, 6 and 2)."""

    inputs_enabled: int
    inputs_closed: int
    outputs_closed: int
    inputs_normally_closed: int
    outputs_active_closed: int
    inputs_active: int
    outputs_active: int

    def input_active(self, n: int) -> bool:
        """Input n (1..8) enabled and active."""
        bit = 1 << (n - 1)
        return bool(self.inputs_enabled & bit and self.inputs_active & bit)

    def output_active(self, n: int) -> bool:
        """Output n (1..8) active."""
        return bool(self.outputs_active & (1 << (n - 1)))


def decode_io_status(value: str) -> IoStatus:
    """Fourteen hex digits (seven bytes, in the document's order) -> IoStatus; else ProtocolError."""
    v = value.strip()
    if len(v) != 14 or not all(c in "0123456789abcdefABCDEF" for c in v):
        raise ProtocolError(f"move: IO:Status is not 14 hex digits: {v[:20]!r}")
    b = [int(v[i : i + 2], 16) for i in range(0, 14, 2)]
    return IoStatus(*b)


def parse_eventdata(text: str | bytes) -> dict[str, dict[str, str]]:
    """`Group:k=v;k=v;` lines -> {group: {key: value}} (blank and other lines ignored)."""
    groups: dict[str, dict[str, str]] = {}
    for raw in text_lines(text):
        m = _LINE.match(raw)
        if m is None:
            continue
        fields = groups.setdefault(m.group(1), {})
        for item in m.group(2).split(";"):
            key, sep, value = item.partition("=")
            if sep and key.strip():
                fields[key.strip()] = value.strip()
    return groups


def _flag(group: str, fields: dict[str, str], key: str) -> bool | None:
    v = fields.get(key)
    if v is None:
        return None
    if v not in ("0", "1"):
        raise ProtocolError(f"move: {group}.{key} is not 0/1: {v[:20]!r}")
    return v == "1"


def _int(group: str, fields: dict[str, str], key: str) -> int | None:
    v = fields.get(key)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise ProtocolError(f"move: {group}.{key} is not a number: {v[:20]!r}") from None


def _faces(value: str) -> int:
    # "<N> X_Y_W_H,..." or "0": the count comes first
    head = value.strip().split(" ", 1)[0]
    return int(head) if head.isascii() and head.isdigit() and len(head) <= 9 else 0


def samples(text: str | bytes) -> list[TriggerSample]:
    """One eventdata body or monitor part -> trigger samples (see the module doc for names).

    A group with a bad value is skipped and reported: PartlyRead with the other groups' samples.
    """
    out: list[TriggerSample] = []
    windows: list[TriggerSample] = []
    problems: list[str] = []
    for group, fields in parse_eventdata(text).items():
        try:
            _group_samples(group, fields, windows, out)
        except ProtocolError as e:
            problems.append(str(e))
    if windows:
        levels = [w.level for w in windows if w.level is not None]
        windows.append(
            TriggerSample("motion", any(w.active for w in windows), max(levels) if levels else None)
        )
    if problems:
        raise PartlyRead(problems, windows + out)
    return windows + out


def _group_samples(
    group: str, fields: dict[str, str], windows: list[TriggerSample], out: list[TriggerSample]
) -> None:
    """One group's samples, appended to `windows` (motion) or `out`; ProtocolError for a bad value
    (nothing of the group is appended then)."""
    motion = _MOTION.fullmatch(group)
    if motion is not None:
        name = f"motion:{int(motion.group(1) or 0)}"
        enabled = _flag(group, fields, "Enabled")
        triggered = _flag(group, fields, "Triggered")
        level = _int(group, fields, "Level")
        if enabled is False:
            windows.append(TriggerSample(name, False, level))
        elif triggered is not None:
            windows.append(TriggerSample(name, triggered, level))
    elif group.upper() == "T0":
        enabled = _flag(group, fields, "Enabled")
        if enabled is None:
            enabled = _flag(group, fields, "Enable")
        triggered = _flag(group, fields, "Triggered")
        if enabled is False:
            out.append(TriggerSample("tamper", False))
        elif triggered is not None:
            out.append(TriggerSample("tamper", triggered))
    elif group.lower() == "face":
        counts = [_faces(v) for k, v in fields.items() if k.lower().endswith("_face")]
        enabled = _flag(group, fields, "Enabled")
        if enabled is False:
            out.append(TriggerSample("face", False, 0))
        elif counts:
            out.append(TriggerSample("face", max(counts) > 0, max(counts)))
    elif group.upper() == "IO" and "Status" in fields:
        st = decode_io_status(fields["Status"])
        out += [TriggerSample(f"input:{n}", st.input_active(n)) for n in range(1, 9)]
        out += [TriggerSample(f"output:{n}", st.output_active(n)) for n in range(1, 9)]
