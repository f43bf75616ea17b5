"""Templates, URL encoding, FTP paths and names, the mail: pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from recorderd.actions.outbox import Attachment
from recorderd.actions.render import build_mail, fields, ftp_directory, ftp_name, render, render_url
from tests.support.targets import JPEG_A, event

T = datetime(2024, 12, 31, 23, 59, 58, 7000, tzinfo=timezone(timedelta(hours=-5)))


def test_fields_and_templates() -> None:
    f = fields(event(at=T, recording="/r/x.mkv").to_dict())
    assert render("{camera}/{trigger}/{type}/{date}/{clock}/{recording}/{armed}", f) == (
        "front/motion/start/2024-12-31/23:59:58//r/x.mkv/yes"
    )
    assert f["time"] == "2024-12-31T23:59:58.007000-05:00"
    assert render("{camera} {unknown} {0}", f) == "front {unknown} {0}"  # unknown fields stay
    assert render("broken {camera", f) == "broken {camera"  # unbalanced: used as plain text
    assert render("{{literal}} {camera}", f) == "{literal} front"


def test_url_values_are_percent_encoded() -> None:
    f = fields(event(at=T, trigger="input:1", recording="/a b&c.mkv").to_dict())
    url = render_url("http://h/x?t={trigger}&time={time}&r={recording}", f)
    assert url == "http://h/x?t=input%3A1&time=2024-12-31T23%3A59%3A58.007000-05%3A00&r=%2Fa%20b%26c.mkv"


def test_ftp_directory_is_safe() -> None:
    f = fields(event(at=T, trigger="input:1").to_dict())
    assert ftp_directory("{camera}/{date}", f) == "front/2024-12-31"
    assert ftp_directory("/up/{trigger}/../{camera}/", f) == "up/input_1/front"
    assert ftp_directory("", f) == ""


def test_ftp_names_per_mode() -> None:
    assert ftp_name("overwrite", "front", ".jpg", T) == "front.jpg"
    assert ftp_name("timestamp", "front", ".jpg", T) == "front_20241231_235958_007.jpg"
    assert ftp_name("timestamp", "front", ".jpg", T, index=2) == "front_20241231_235958_007-2.jpg"
    assert ftp_name("sequence", "front", ".jpg", T, sequence=7, sequence_max=1000) == "front_0007.jpg"
    assert ftp_name("sequence", "front", ".mkv", T, sequence=65535, sequence_max=65535) == "front_65535.mkv"


def test_mail_for_coalesced_events() -> None:
    events = [event(id="a").to_dict(), event("end", id="a", recording="/r/a.mkv").to_dict()]
    msg = build_mail(
        sender="a@example.org",
        to=["b@example.org", "c@example.org"],
        subject="{camera}: {trigger}\r\nBcc: evil@example.org",
        body="{type} {recording}",
        events=events,
        attachments=[Attachment("f.jpg", JPEG_A)],
    )
    assert msg["Subject"] == "front: motion  Bcc: evil@example.org (+1 more)"  # no header injection
    assert msg["To"] == "b@example.org, c@example.org"
    assert msg["Message-ID"] == "<a.start.2@recorderd.invalid>"
    body = msg.get_body(("plain",))
    assert body is not None and body.get_content() == "start none\n\nend /r/a.mkv\n"
    assert [p.get_payload(decode=True) for p in msg.iter_attachments()] == [JPEG_A]
