"""Dialect text -> normalized trigger samples, on the dialect documents' examples and real captures."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from recorderd.protocol.dialects import ipcamcgi, move, openapi, paramcgi
from recorderd.protocol.errors import ProtocolError
from recorderd.protocol.events import TriggerSample as S
from recorderd.protocol.multipart import Part
from tests.support.protocol_streams import run

# --- Open API/VAPIX motion levels and I/O monitor -----------------------------------------------------


def test_motion_levels_vapix_example() -> None:
    text = b"group=0;level=28;threshold=45;\r\ngroup=1;level=43;threshold=25;\r\n"
    assert openapi.parse_motion(text) == [
        S("motion:0", False, 28, 45),
        S("motion:1", True, 43, 25),
        S("motion", True, 43, 25),
    ]
    text = b"\r\ngroup=0;level=49;threshold=45;\r\n\r\ngroup=1;level=19;threshold=25;\r\n"
    assert openapi.parse_motion(text)[-1] == S("motion", True, 49, 45)


def test_motion_level_equal_to_threshold_is_inactive() -> None:
    assert openapi.parse_motion("group=3;level=45;threshold=45;") == [
        S("motion:3", False, 45, 45),
        S("motion", False, 45, 45),
    ]


def test_motion_lines_run_together_and_errors() -> None:
    joined = "group=0;level=50;threshold=45;group=1;level=1;threshold=2;"
    assert [s.trigger for s in openapi.parse_motion(joined)] == ["motion:0", "motion:1", "motion"]
    assert openapi.parse_motion("\r\n\r\n") == []
    with pytest.raises(ProtocolError):
        openapi.parse_motion("group=0;level=;threshold=45;")


def test_io_monitor_all_four_states_and_blank_lines() -> None:
    assert openapi.parse_io(b"IO0:/\n\r\n\r\n") == [S("input:1", True)]
    assert openapi.parse_io(b"IO0:H\n") == [S("input:1", True)]
    assert openapi.parse_io(b"\r\nIO0:\\\n\r\n\r\n") == [S("input:1", False)]
    assert openapi.parse_io(b"IO3:L\r\n") == [S("input:4", False)]
    assert openapi.parse_io(b"\r\n\r\n") == []
    assert openapi.parse_io("IO1:H", kind="output") == [S("output:2", True)]
    with pytest.raises(ProtocolError):
        openapi.parse_io("IO0:X")


def test_openapi_samples_mixes_both() -> None:
    assert openapi.samples("IO0:H\r\ngroup=2;level=9;threshold=1;\r\n") == [
        S("motion:2", True, 9, 1),
        S("motion", True, 9, 1),
        S("input:1", True),
    ]


# --- IPCamCGI frame header and iocontrol -------------------------------------------------------------


def test_frame_header_documented_form() -> None:
    info = ipcamcgi.parse_frame_header("2008-10-01 10:39:46 IO_10010000_PT_120_045")
    assert info.time == datetime(2008, 10, 1, 10, 39, 46)
    assert (info.trigger1, info.trigger2, info.upload, info.email) == (True, False, False, True)
    assert (info.pan, info.tilt) == (120, 45)


def test_frame_header_seven_digits_as_drawn() -> None:
    info = ipcamcgi.parse_frame_header("Date: 2008-10-01 10:39:46 IO_0100000_PT_340_135")
    assert (info.trigger1, info.trigger2, info.pan, info.tilt) == (False, True, 340, 135)


def test_frame_header_real_dlink_form() -> None:
    info = ipcamcgi.parse_frame_header(b"11-17-2016 04:03:05 PM IO_00000000_PT_005_000")
    assert info.time == datetime(2016, 11, 17, 16, 3, 5)
    assert not info.trigger1 and info.pan == 5 and info.tilt == 0
    am = ipcamcgi.parse_frame_header("11-17-2016 12:03:05 AM IO_00000000_PT_005_000")
    assert am.time == datetime(2016, 11, 17, 0, 3, 5)


def test_frame_header_bad_date_keeps_bits_and_missing_io_raises() -> None:
    info = ipcamcgi.parse_frame_header("garbled IO_11000000_PT_000_000")
    assert info.time is None and info.trigger1 and info.trigger2
    with pytest.raises(ProtocolError):
        ipcamcgi.parse_frame_header("2008-10-01 10:39:46")


def test_frame_header_from_a_stream_part() -> None:
    jpeg = b"\xff\xd8" + b"x" * 20 + b"\xff\xd9"
    data = (
        b"Content-Length: %d\r\nDate: 2008-10-01 10:39:46 IO_01000000_PT_120_045\r\n"
        b"Content-Type: image/jpeg\r\n\r\n" % len(jpeg) + jpeg + b"\r\n\r\n--video boundary--\r\n"
    )
    (part,) = run("--video boundary--", [data])
    assert isinstance(part, Part)
    assert ipcamcgi.samples(part.headers["date"]) == [S("input:1", False), S("input:2", True)]


def test_iocontrol() -> None:
    body = "Trigger1= 0&Trigger2= 1&ImageUpload= 0&ImageEmail= 1&CurrentTime= 2008-10-01 15:37:53"
    io = ipcamcgi.parse_iocontrol(body)
    assert (io.trigger1, io.trigger2, io.upload, io.email) == (False, True, False, True)
    assert io.current_time == datetime(2008, 10, 1, 15, 37, 53)
    assert ipcamcgi.samples(body + "\r\n") == [S("input:1", False), S("input:2", True)]
    with pytest.raises(ProtocolError):
        ipcamcgi.parse_iocontrol("Trigger1=2")
    with pytest.raises(ProtocolError):
        ipcamcgi.parse_iocontrol("<html></html>")


# --- MOBOTIX MOVE eventdata ----------------------------------------------------------------------------


def test_eventdata_get_example() -> None:
    body = (
        "Motion:Enabled=1;Level=15;Sensitivity=80;Triggered=0;\r\nMotion1:Enabled=0; \r\n"
        "IO:Status=00000100000000;\r\n\r\n"
    )
    got = move.samples(body)
    assert got[:3] == [S("motion:0", False, 15), S("motion:1", False), S("motion", False, 15)]
    assert [s for s in got if s.active] == []
    assert [s.trigger for s in got[3:]] == [f"input:{n}" for n in range(1, 9)] + [
        f"output:{n}" for n in range(1, 9)
    ]


def test_eventdata_triggered_tamper_face() -> None:
    body = (
        "Motion2:Enabled=1;Level=60;Sensitivity=80;Triggered=1;\r\nT0:Enabled=1;Triggered=1;\r\n"
        "Face:Enabled=1;H264_Face=2 0.5_0.4_0.2_0.3,0.8_0.1_0.2_0.3;H264_2_Face=0\r\n"
    )
    assert move.samples(body) == [
        S("motion:2", True, 60),
        S("motion", True, 60),
        S("tamper", True),
        S("face", True, 2),
    ]
    assert move.samples("Face:Enabled=1;H264_Face=0;H264_2_Face=0;\r\n") == [S("face", False, 0)]
    assert move.samples("Motion:Enabled=1;Triggered=0; \r\n") == [S("motion:0", False), S("motion", False)]
    assert move.samples("Motion:Enabled=1;Level=3;\r\n") == []  # Triggered not asked for


def test_io_status_seven_bytes() -> None:
    st = move.decode_io_status("a2a20301020203")
    assert st.inputs_enabled == 0xA2 and st.inputs_active == 0x02 and st.outputs_active == 0x03
    assert st.input_active(2) and not st.input_active(1) and not st.input_active(8)
    assert st.output_active(1) and st.output_active(2) and not st.output_active(3)
    got = {s.trigger: s.active for s in move.samples("IO:Status=a2a20301020203;")}
    assert got["input:2"] and not got["input:6"] and got["output:2"] and not got["output:3"]
    # example from the document: no input enabled, output 1 closed but not active
    assert not any(s.active for s in move.samples("IO:Status=00000100000000;"))
    with pytest.raises(ProtocolError):
        move.decode_io_status("0000010000000")
    with pytest.raises(ProtocolError):
        move.samples("IO:Status=zz000100000000;")


# --- VAPIX param.cgi list ---------------------------------------------------------------------------


def test_axis_param_list_parses_fully(real: Path) -> None:
    body = (real / "axis-p5512-fw5.51.7-param-list.txt").read_bytes()
    pl = paramcgi.parse_param_list(body)
    lines = [ln for ln in body.split(b"\n") if ln.strip()]
    assert len(pl.params) == len(lines) == 660
    assert pl.errors == [] and pl.other == []
    assert pl.params["Brand.ProdNbr"] == "P5512"
    assert pl.params["Network.Resolver.NameServerList"] == "172.16.3.1"  # trailing space stripped
    assert pl.params["Audio.A0.HTTPMessageType"] == "singlepart"
    ports = paramcgi.groups(pl.params, "IOPort")
    assert ports["I0"]["Input.Name"] == "Input 1" and len(ports) == 4


def test_param_list_errors_latin1_and_groups() -> None:
    body = (
        b"Event.E0.Name=MyEvent\nEvent.E0.Type=T\nroot.Event.E1.Name=Caf\xe9 \n"
        b"Motion.M3.Top=500\nMotion.M3.Name=Entrance\n# Error: Error setting 'Foo.Bar'.\r\n"
        b"# Request failed: bad group\n\nE7 OK\r\n"
    )
    pl = paramcgi.parse_param_list(body)
    assert paramcgi.event_groups(pl.params) == {
        "E0": {"Name": "MyEvent", "Type": "T"},
        "E1": {"Name": "Café"},
    }
    assert paramcgi.motion_windows(pl.params) == {3: {"Top": "500", "Name": "Entrance"}}
    assert pl.errors == ["Error setting 'Foo.Bar'.", "bad group"]
    assert pl.other == ["E7 OK"]
    with pytest.raises(ProtocolError):
        paramcgi.require(pl)


def test_latin1_text_breaks_lines_only_at_cr_and_lf() -> None:
    """A latin-1 body read as text holds 0x85 (Windows-1252's ellipsis) and 0x1c-0x1e as ordinary
    characters: str.splitlines would cut a value there."""
    from recorderd.protocol.dialects import foscam

    text = b"root.Event.E0.Name=Wait\x85 done\x1c!\r\nroot.Event.E0.Type=T\n".decode("latin-1")
    assert paramcgi.parse_param_list(text).params == {
        "Event.E0.Name": "Wait\x85 done\x1c!",
        "Event.E0.Type": "T",
    }
    assert foscam.parse_vars("var alias='gate\x85 2';\r\nvar id=3;") == {"alias": "gate\x85 2", "id": "3"}
    assert move.parse_eventdata("Motion:Name=a\x85b;Level=3;\r\n") == {
        "Motion": {"Name": "a\x85b", "Level": "3"}
    }


def test_port_check() -> None:
    assert paramcgi.samples("input1=active\r\ninput2=inactive\r\noutput1=1\n") == [
        S("input:1", True),
        S("input:2", False),
        S("output:1", True),
    ]
    with pytest.raises(ProtocolError):
        paramcgi.parse_port_check("input1=maybe")


def test_fuzz_findings_unicode_digits_and_huge_numbers() -> None:
    # found by bench/fuzz_protocol.py: '²'.isdigit() is True but int('²') fails
    assert move.samples("Face:Enabled=1;H264_Face=²;\r\n") == [S("face", False, 0)]
    with pytest.raises(ProtocolError):
        openapi.parse_motion("group=0;level=" + "9" * 5000 + ";threshold=1;")
    assert paramcgi.parse_port_check("input" + "1" * 5000 + "=1") == []
    assert move.samples("Motion" + "1" * 5000 + ":Enabled=0;") == []
