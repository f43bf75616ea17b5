"""An unknown key names the allowed key closest to it; check-config's summary counts in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorderd.cli import main
from recorderd.config.load import ConfigError, parse_config

TYPOS = [
    ("[deamon]\n", "deamon", "daemon"),
    ('[daemon]\nstat_dir = "x"\n', "daemon.stat_dir", "state_dir"),
    ('[mqtt]\nhots = "x"\n', "mqtt.hots", "host"),
    ('[mqtt]\ntls = { ca_fil = "x" }\n', "mqtt.tls.ca_fil", "ca_file"),
    ('[targets.m]\nkind = "email"\nhost = "h"\nform = "a"\nto = ["b"]\n', "targets.m.form", "from"),
    ('[targets.f]\nkind = "ftp"\nhost = "h"\ndirectroy = "a"\n', "targets.f.directroy", "directory"),
    ('[cameras.a]\ndialect = "mjpeg"\nvidoe_url = "http://127.0.0.1/"\n', "cameras.a.vidoe_url", "video_url"),
    (
        '[cameras.a]\ndialect = "vapix"\nurl = "http://127.0.0.1/"\nrecord = { mdoe = "off" }\n',
        "cameras.a.record.mdoe",
        "mode",
    ),
    (
        '[cameras.a]\ndialect = "vapix"\nurl = "http://127.0.0.1/"\nactions = [{ targte = "mqtt" }]\n',
        "cameras.a.actions.0.targte",
        "target",
    ),
]


@pytest.mark.parametrize(("text", "path", "meant"), TYPOS, ids=[t[1] for t in TYPOS])
def test_unknown_key_suggests_the_closest_allowed_one(text: str, path: str, meant: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, name="t.toml")
    assert f't.toml: {path}: unknown key (did you mean "{meant}"?)' in exc.value.messages


def test_nothing_close_is_only_unknown() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config('[cameras.a]\ndialect = "vapix"\nurl = "http://127.0.0.1/"\nzzzzzz = 1\n', name="t.toml")
    assert exc.value.messages == ["t.toml: cameras.a.zzzzzz: unknown key"]


def test_summary_counts_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.toml"
    path.write_text('[cameras.a]\ndialect = "vapix"\nurl = "http://127.0.0.1/"\n')
    assert main(["check-config", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK: 1 camera: a (vapix); 0 targets: none; mqtt: off" in out
