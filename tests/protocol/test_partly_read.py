"""A bad value costs only itself: every state-bearing parser reads the values it can and raises
PartlyRead (a ProtocolError) with them, so the stream layer keeps the good ones."""

from __future__ import annotations

import pytest

from recorderd.cameras.drivers.ipcamcgi import iocontrol_samples
from recorderd.protocol.dialects import ipcamcgi, move, openapi, paramcgi
from recorderd.protocol.errors import PartlyRead, ProtocolError
from recorderd.protocol.events import TriggerSample


def partly(fn: object, text: str) -> PartlyRead[list[TriggerSample]]:
    with pytest.raises(PartlyRead) as info:
        fn(text)  # type: ignore[operator]
    assert isinstance(info.value, ProtocolError)
    return info.value


def test_port_check_keeps_the_good_ports() -> None:
    e = partly(paramcgi.parse_port_check, "input1=2\r\ninput2=active\r\ninput3=x\r\n")
    assert e.result == [TriggerSample("input:2", True)]
    assert e.problems == ["paramcgi: unknown port state '2'", "paramcgi: unknown port state 'x'"]
    assert str(e) == "paramcgi: unknown port state '2' (and 1 more)"


def test_io_monitor_and_motion_lines_keep_the_good_ones() -> None:
    e = partly(openapi.parse_io, "IO0:?\r\nIO1:H\r\n")
    assert e.result == [TriggerSample("input:2", True)]
    e = partly(openapi.parse_motion, "group=0;level=;threshold=45;\r\ngroup=1;level=80;threshold=45;\r\n")
    assert e.result == [TriggerSample("motion:1", True, 80, 45), TriggerSample("motion", True, 80, 45)]
    e = partly(openapi.samples, "group=0;threshold=45;\r\nIO0:H\r\n")
    assert e.result == [TriggerSample("input:1", True)]


def test_eventdata_keeps_the_good_groups() -> None:
    text = "Motion:Enabled=1;Level=5;Triggered=yes;\r\nMotion1:Enabled=1;Level=9;Triggered=1;\r\nIO:Status=zz;\r\nT0:Enabled=1;Triggered=1;\r\n"
    e = partly(move.samples, text)
    assert e.result == [
        TriggerSample("motion:1", True, 9),
        TriggerSample("motion", True, 9),
        TriggerSample("tamper", True),
    ]
    assert len(e.problems) == 2


def test_iocontrol_keeps_the_good_fields() -> None:
    e = partly(ipcamcgi.samples, "Trigger1= 7&Trigger2= 1&ImageUpload= 0")
    assert e.result == [TriggerSample("input:2", True)]
    e = partly(iocontrol_samples, "Trigger1= 7&Trigger2= 1&ImageUpload= 1")
    assert e.result == [TriggerSample("input:2", True), TriggerSample("motion", True)]
    with pytest.raises(ProtocolError, match="without Trigger/Image fields"):
        ipcamcgi.parse_iocontrol("hello")


def test_good_answers_raise_nothing() -> None:
    assert paramcgi.parse_port_check("input1=active\r\n") == [TriggerSample("input:1", True)]
    assert move.samples("T0:Enabled=1;Triggered=0;\r\n") == [TriggerSample("tamper", False)]
