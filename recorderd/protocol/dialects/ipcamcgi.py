"""IPCamCGI (CAS-3xx, D-Link family): the MJPEG frame header and /iocontrol.cgi.

Each mjpeg.cgi frame carries `Date: yyyy-mm-dd hh:mm:ss IO_XXXXXXXX_PT_ppp_ttt`. The IO field is one
0/1 per position: Trigger1, Trigger2, Image Upload, Image Email, then reserved. The document draws
seven X's but describes eight positions, so 7 or 8 (or more) digits are accepted. Real D-Link
firmware writes `Date: 11-17-2016 04:03:05 PM IO_00000000_PT_005_000` (month-day-year, 12-hour).
Trigger1/Trigger2 are reported as `input:1`/`input:2`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from recorderd.protocol.errors import PartlyRead, ProtocolError
from recorderd.protocol.events import TriggerSample
from recorderd.protocol.text import decode_text

__all__ = [
    "FrameInfo",
    "IoControl",
    "iocontrol_samples",
    "parse_frame_header",
    "parse_iocontrol",
    "samples",
    "samples_from_frame",
]

_IO_FIELD = re.compile(r"IO_([01]{4,16})_PT_([0-9]{1,4})_([0-9]{1,4})\s*$")
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",  # documented
    "%m-%d-%Y %I:%M:%S %p",  # real D-Link
    "%m-%d-%Y %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
)


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """What a frame's Date header says: camera-local naive time (None if unreadable), bits, pan/tilt."""

    time: datetime | None
    trigger1: bool
    trigger2: bool
    upload: bool
    email: bool
    pan: int
    tilt: int
    io_bits: str


def _parse_time(text: str) -> datetime | None:
    text = " ".join(text.split())
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_frame_header(value: str | bytes) -> FrameInfo:
    """The Date header's value (a leading `Date:` is accepted too) -> FrameInfo.

    An unreadable date gives time=None (the bits still count); a missing or malformed
    `IO_..._PT_..._...` field raises ProtocolError.
    """
    text = decode_text(value).strip()
    if text[:5].lower() == "date:":
        text = text[5:].strip()
    m = _IO_FIELD.search(text)
    if m is None:
        raise ProtocolError(f"ipcamcgi: no IO_..._PT_..._... field in frame header {text[:60]!r}")
    bits = m.group(1)
    return FrameInfo(
        time=_parse_time(text[: m.start()]),
        trigger1=bits[0] == "1",
        trigger2=bits[1] == "1",
        upload=bits[2] == "1",
        email=bits[3] == "1",
        pan=int(m.group(2)),
        tilt=int(m.group(3)),
        io_bits=bits,
    )


def samples_from_frame(info: FrameInfo) -> list[TriggerSample]:
    """Trigger1 -> input:1, Trigger2 -> input:2."""
    return [TriggerSample("input:1", info.trigger1), TriggerSample("input:2", info.trigger2)]


@dataclass(frozen=True, slots=True)
class IoControl:
    """GET /iocontrol.cgi: `Trigger1= 0&Trigger2= 1&ImageUpload= 0&ImageEmail= 0&CurrentTime= ...`."""

    trigger1: bool | None
    trigger2: bool | None
    upload: bool | None
    email: bool | None
    current_time: datetime | None


def parse_iocontrol(text: str | bytes) -> IoControl:
    """The iocontrol.cgi body (fields in any order, spaces after `=`, `&` or line separated).

    Missing fields are None; a body with none of the fields raises ProtocolError. A field with a
    value other than 0/1 is left None and reported: PartlyRead with the other fields.
    """
    fields: dict[str, str] = {}
    for item in re.split(r"[&\r\n]+", decode_text(text)):
        name, sep, value = item.partition("=")
        if sep:
            fields[name.strip().lower()] = value.strip()
    problems: list[str] = []

    def flag(name: str) -> bool | None:
        v = fields.get(name)
        if v is None:
            return None
        if v not in ("0", "1"):
            problems.append(f"ipcamcgi: iocontrol {name} is not 0/1: {v[:20]!r}")
            return None
        return v == "1"

    result = IoControl(
        trigger1=flag("trigger1"),
        trigger2=flag("trigger2"),
        upload=flag("imageupload"),
        email=flag("imageemail"),
        current_time=_parse_time(fields["currenttime"]) if "currenttime" in fields else None,
    )
    if problems:
        raise PartlyRead(problems, result)
    if result.trigger1 is None and result.trigger2 is None and result.upload is None and result.email is None:
        raise ProtocolError("ipcamcgi: iocontrol.cgi answer without Trigger/Image fields")
    return result


def iocontrol_samples(io: IoControl) -> list[TriggerSample]:
    """Trigger1 -> input:1, Trigger2 -> input:2, Image Upload -> motion (the fields present)."""
    out: list[TriggerSample] = []
    for name, value in (("input:1", io.trigger1), ("input:2", io.trigger2), ("motion", io.upload)):
        if value is not None:
            out.append(TriggerSample(name, value))
    return out


def samples(text: str | bytes) -> list[TriggerSample]:
    """A frame's Date header value or an iocontrol.cgi body -> input:1 / input:2 samples."""
    body = decode_text(text)
    if "IO_" in body and "_PT_" in body:
        return samples_from_frame(parse_frame_header(body))
    try:
        io = parse_iocontrol(body)
    except PartlyRead as e:
        raise PartlyRead(e.problems, _inputs(e.result)) from None
    return _inputs(io)


def _inputs(io: IoControl) -> list[TriggerSample]:
    return [s for s in iocontrol_samples(io) if s.trigger.startswith("input:")]
