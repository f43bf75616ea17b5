"""Foscam CGI: JavaScript variables, alarm_status, results, against the spec and real captures."""

from pathlib import Path

import pytest

from recorderd.protocol.dialects.foscam import (
    Result,
    parse_result,
    parse_status,
    parse_vars,
    schedule_words,
)
from recorderd.protocol.errors import ProtocolError
from recorderd.protocol.events import TriggerSample


def test_real_get_params_schedule_words(real: Path) -> None:
    v = parse_vars((real / "foscam-netwave-get_params.txt").read_bytes())
    assert v["alarm_schedule_sun_1"] == "4294967264"
    assert v["sys_ver"] == "11.22.2.38"
    assert v["user3_name"] == ""
    assert v["alias"] == "R2D2"
    days = schedule_words(v)
    assert set(days) == {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
    assert days["sun"][1] == 4294967264
    # every line of the capture is an assignment: none is lost
    lines = [ln for ln in (real / "foscam-netwave-get_params.txt").read_text().splitlines() if ln.strip()]
    assert len(v) == len(lines)


def test_real_get_status(real: Path) -> None:
    body = (real / "foscam-netwave-get_status.txt").read_bytes()
    v = parse_vars(body)
    assert v["alarm_status"] == "0" and v["now"] == "1352782910" and v["ddns_host"] == ""
    assert parse_status(body) == [
        TriggerSample("motion", False),
        TriggerSample("input:1", False),
        TriggerSample("sound", False),
    ]


def test_real_results(real: Path) -> None:
    assert parse_result((real / "foscam-netwave-set_alarm.txt").read_bytes()) == Result(True)
    assert parse_result("error: illegal param\r\n") == Result(False, "illegal param")
    with pytest.raises(ProtocolError):
        parse_result("<html>hello</html>")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("var a='x';", {"a": "x"}),
        ('var a="x";\r\nvar b=2;\r\n', {"a": "x", "b": "2"}),
        ("a='no var prefix';", {"a": "no var prefix"}),
        ("var a='x;y=z';", {"a": "x;y=z"}),
        ("var a='';var b=\"\";", {"a": "", "b": ""}),
        ("var a=1;var b='2';", {"a": "1", "b": "2"}),
        ("ok.\nvar a=1;\n<html>\n", {"a": "1"}),
        ("var a = 'spaced' ;", {"a": "spaced"}),
        ("var a='it\\'s';", {"a": "it's"}),
        ("var log_text='l1\\nl2\\n';", {"log_text": "l1\nl2\n"}),
        ("var s=-32;", {"s": "-32"}),
        ("var ap=new Array();\nap[0]='a';ap[ 1 ]='b';", {"ap": "new Array()", "ap[0]": "a", "ap[1]": "b"}),
        ("var a='unterminated\nvar b=1;", {"a": "unterminated", "b": "1"}),
        ("var a='x'\nvar b=3", {"a": "x", "b": "3"}),
        (b"var a='caf\xe9';", {"a": "café"}),
        ("", {}),
    ],
)
def test_parse_vars_variants(text: str | bytes, expected: dict[str, str]) -> None:
    assert parse_vars(text) == expected


def test_signed_schedule_words_equal_unsigned() -> None:
    signed = parse_vars("".join(f"var alarm_schedule_{d}_{i}=-32;" for d in ("sun", "mon") for i in range(3)))
    assert schedule_words(signed) == {"sun": (4294967264,) * 3, "mon": (4294967264,) * 3}


@pytest.mark.parametrize(
    ("code", "active"),
    [("0", None), ("1", "motion"), ("2", "input:1"), ("3", "sound")],
)
def test_alarm_status_codes(code: str, active: str | None) -> None:
    samples = parse_status(f"var alarm_status={code};")
    assert {s.trigger for s in samples if s.active} == ({active} if active else set())


def test_alarm_status_unknown() -> None:
    with pytest.raises(ProtocolError):
        parse_status("var alarm_status=9;")
    assert parse_status("var now=1;") == []
