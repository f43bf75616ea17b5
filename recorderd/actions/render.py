"""Pure text building for actions: template fields, URL templates, FTP paths and names, the e-mail.

Templates use `{name}` fields: camera, trigger, type, time (ISO 8601 with offset), date
(YYYY-MM-DD), clock (HH:MM:SS), timestamp (YYYYMMDD_HHMMSS), year, month, day, hour, minute,
second, id, armed (yes/no), recording (the path, or "none"). An unknown field stays as written,
and a template with unbalanced braces is used as plain text, so a typo never loses an alarm.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from recorderd.actions.outbox import Attachment
from recorderd.config.model import Naming


def fields(event: Mapping[str, Any]) -> dict[str, str]:
    """Template fields of one event (in its JSON form, see IncidentEvent.to_dict)."""
    t = datetime.fromisoformat(str(event["time"]))
    recording = event.get("recording")
    return {
        "camera": str(event["camera"]),
        "trigger": str(event["trigger"]),
        "type": str(event["type"]),
        "id": str(event["id"]),
        "armed": "yes" if event.get("armed") else "no",
        "recording": str(recording) if recording else "none",
        "time": t.isoformat(),
        "date": t.strftime("%Y-%m-%d"),
        "clock": t.strftime("%H:%M:%S"),
        "timestamp": t.strftime("%Y%m%d_%H%M%S"),
        "year": t.strftime("%Y"),
        "month": t.strftime("%m"),
        "day": t.strftime("%d"),
        "hour": t.strftime("%H"),
        "minute": t.strftime("%M"),
        "second": t.strftime("%S"),
    }


class _Formatter(string.Formatter):
    """Unknown and positional fields stay as written."""

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, int):
            return "{" + str(key) + "}"
        return kwargs[key] if key in kwargs else "{" + key + "}"


def render(template: str, values: Mapping[str, str]) -> str:
    try:
        return _Formatter().vformat(template, (), values)
    except (ValueError, IndexError, KeyError, AttributeError):
        return template


def render_url(template: str, values: Mapping[str, str]) -> str:
    """Like render, with every value percent-encoded (Foscam CGI alarm_http_url style)."""
    return render(template, {k: quote(v, safe="") for k, v in values.items()})


_UNSAFE = re.compile(r"[\\/:*?\"<>|\x00-\x1f]")


def path_safe(value: str) -> str:
    """A field value usable as one path component on any FTP server ("input:1" -> "input_1")."""
    cleaned = _UNSAFE.sub("_", value).strip(". ")
    return cleaned or "_"


def ftp_directory(template: str, values: Mapping[str, str]) -> str:
    """The remote directory: the template with path-safe values, normalised, no '..' escapes."""
    text = render(template, {k: path_safe(v) for k, v in values.items()})
    parts = [p for p in text.split("/") if p not in ("", ".", "..")]
    return "/".join(parts)


def ftp_name(
    naming: Naming,
    base: str,
    ext: str,
    when: datetime,
    *,
    sequence: int | None = None,
    sequence_max: int = 1000,
    index: int | None = None,
) -> str:
    """A document's name per IPCamCGI FTP*FileMode: overwrite, date/time suffix, sequence number.

    overwrite: front.jpg; timestamp: front_20240131_235959_123.jpg (with -2, -3... for several
    frames of one event); sequence: front_0001.jpg ... front_1000.jpg, then front_0001.jpg again.
    """
    base = path_safe(base)
    if naming == "overwrite":
        return f"{base}{ext}"
    if naming == "timestamp":
        suffix = f"-{index}" if index is not None and index > 1 else ""
        return f"{base}_{when:%Y%m%d_%H%M%S}_{when.microsecond // 1000:03d}{suffix}{ext}"
    if sequence is None:
        raise ValueError("sequence naming needs a sequence number")
    width = len(str(sequence_max))
    return f"{base}_{sequence:0{width}d}{ext}"


def message_id(events: Sequence[Mapping[str, Any]]) -> str:
    """A Message-ID fixed by the events, so a mail sent twice (at least once) is one to clients."""
    first = events[0]
    key = f"{first['id']}.{first['type']}.{len(events)}"
    return "<" + re.sub(r"[^A-Za-z0-9.-]", "-", key) + "@recorderd.invalid>"


def build_mail(
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    events: Sequence[Mapping[str, Any]],
    attachments: Sequence[Attachment],
) -> EmailMessage:
    """One mail for one or more events (several when coalesced by the minimum interval).

    Subject from the first event, with "(+N more)"; the body template once per event.
    """
    if not events:
        raise ValueError("a mail needs at least one event")
    values = [fields(e) for e in events]
    msg = EmailMessage()
    subj = render(subject, values[0])
    if len(events) > 1:
        subj += f" (+{len(events) - 1} more)"
    msg["Subject"] = subj.replace("\r", " ").replace("\n", " ")
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(datetime.fromisoformat(values[0]["time"]))
    msg["Message-ID"] = message_id(events)
    text = "\n".join(render(body, v).rstrip("\n") + "\n" for v in values)
    msg.set_content(text)
    for a in attachments:
        maintype, subtype = (
            ("image", "jpeg")
            if a.name.lower().endswith((".jpg", ".jpeg"))
            else ("application", "octet-stream")
        )
        msg.add_attachment(a.read(), maintype=maintype, subtype=subtype, filename=a.name)
    return msg
