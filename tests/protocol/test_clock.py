"""The time CGIs' answers (Open API time.cgi, VAPIX/MOVE date.cgi, MOVE Time.TimeZone, IPCamCGI datetime.cgi)."""

from __future__ import annotations

from datetime import datetime

import pytest

from recorderd.protocol.clock import parse_gmt_offset, parse_ipcamcgi_datetime, parse_month_date
from recorderd.protocol.errors import ProtocolError


def test_month_dates_as_the_documents_print_them() -> None:
    assert parse_month_date("Apr 03, 2003 15:16:04\r\n") == datetime(2003, 4, 3, 15, 16, 4)
    assert parse_month_date(b"\r\nDec 31,  2024 23:59:59\n") == datetime(2024, 12, 31, 23, 59, 59)
    for bad in ("", "OK\r\n", "2003-04-03 15:16:04", "Apr 33, 2003 15:16:04"):
        with pytest.raises(ProtocolError):
            parse_month_date(bad)


def test_gmt_offsets() -> None:
    assert [parse_gmt_offset(x) for x in ("GMT+8", "GMT-5", "GMT+0", "GMT", "GMT+5:30", "utc-03:30")] == [
        28800,
        -18000,
        0,
        0,
        19800,
        -12600,
    ]
    for bad in ("CET", "GMT+15", "GMT8", "+8"):
        with pytest.raises(ProtocolError):
            parse_gmt_offset(bad)


def test_ipcamcgi_datetime() -> None:
    text = (
        "DateTimeMode=1\r\nTimeServerIPAddress=\r\nTimeServerProtocol=0\r\nTimeZone=+6\r\n"
        "TimeZoneIndex=58\r\nDate=2008-10-01\r\nTime=10:39:46\r\n"
    )
    dt = parse_ipcamcgi_datetime(text)
    assert (dt.local, dt.zone_hours, dt.zone_index) == (datetime(2008, 10, 1, 10, 39, 46), 6, 58)
    dt = parse_ipcamcgi_datetime("Date= 2008-10-01&Time= 10:39:46&TimeZone= -5&TimeZoneIndex= x")
    assert (dt.zone_hours, dt.zone_index) == (-5, None)
    for bad in ("TimeZone=0\r\n", "Date=01-10-2008\r\nTime=10:39:46\r\n"):
        with pytest.raises(ProtocolError):
            parse_ipcamcgi_datetime(bad)
