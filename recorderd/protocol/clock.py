"""What cameras answer when asked their time (pure: text in, times out; ProtocolError if unreadable).

- Open API §1.10.1 `time.cgi?action=get`, VAPIX §5.1.12.1 and MOVE `date.cgi?action=get`:
  `<month> <day>, <year> <hour>:<minute>:<second>` (`Apr 03, 2003 15:16:04`), the camera's local time
  with no zone;
- MOVE param.cgi `Time.TimeZone`: `GMT-12` ... `GMT+13` (`GMT+5:30` accepted too);
- IPCamCGI §3.1.5 `datetime.cgi`: name=value lines `Date` (yyyy-mm-dd), `Time` (hh:mm:ss),
  `TimeZone` (whole hours) and `TimeZoneIndex` (the document's Table 1);
- Foscam `get_status.cgi`: `now` (seconds since 1970 UTC) and `tz` (seconds west of GMT) are read
  with recorderd.protocol.dialects.foscam.parse_vars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from recorderd.protocol.errors import ProtocolError
from recorderd.protocol.text import decode_text, text_lines

__all__ = ["IpcamDateTime", "parse_gmt_offset", "parse_ipcamcgi_datetime", "parse_month_date"]

_GMT = re.compile(r"^\s*(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d\d))?\s*$", re.IGNORECASE)


def parse_month_date(text: str | bytes) -> datetime:
    """`Apr 03, 2003 15:16:04` (the first non-blank line) -> a naive local datetime."""
    lines = [x.strip() for x in text_lines(text) if x.strip()]
    if not lines:
        raise ProtocolError("clock: empty date answer")
    line = " ".join(lines[0].split())
    for fmt in ("%b %d, %Y %H:%M:%S", "%b %d %Y %H:%M:%S"):
        try:
            return datetime.strptime(line, fmt)
        except ValueError:
            continue
    raise ProtocolError(f"clock: not a date like 'Apr 03, 2003 15:16:04': {line[:40]!r}")


def parse_gmt_offset(text: str) -> int:
    """`GMT+8`, `GMT-5`, `GMT+5:30`, `GMT` -> seconds east of UTC."""
    value = text.strip()
    if value.upper() in ("GMT", "UTC"):
        return 0
    m = _GMT.match(value)
    if m is None:
        raise ProtocolError(f"clock: not a zone like 'GMT+8': {value[:20]!r}")
    seconds = int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60
    if seconds > 14 * 3600:
        raise ProtocolError(f"clock: zone offset out of range: {value[:20]!r}")
    return seconds if m.group(1) == "+" else -seconds


@dataclass(frozen=True, slots=True)
class IpcamDateTime:
    local: datetime  # naive, the camera's local time
    zone_hours: int | None  # TimeZone
    zone_index: int | None  # TimeZoneIndex (Table 1), 0 = unused


def parse_ipcamcgi_datetime(text: str | bytes) -> IpcamDateTime:
    """IPCamCGI datetime.cgi's name=value lines -> its date, time and zone fields."""
    fields: dict[str, str] = {}
    for line in re.split(r"[&\r\n]+", decode_text(text)):
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip().lower()] = value.strip()
    date, clock = fields.get("date"), fields.get("time")
    if not date or not clock:
        raise ProtocolError("ipcamcgi: datetime.cgi answer without Date and Time")
    try:
        local = datetime.strptime(f"{date} {clock}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ProtocolError(f"ipcamcgi: unreadable Date/Time {date[:12]!r} {clock[:10]!r}") from None

    def number(name: str) -> int | None:
        raw = fields.get(name, "")
        return int(raw) if re.fullmatch(r"[+-]?\d{1,3}", raw) else None

    return IpcamDateTime(local, number("timezone"), number("timezoneindex"))
