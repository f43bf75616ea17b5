"""Config loading: the example validates, and broken configs name the exact key path (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from recorderd.cli import main
from recorderd.config.load import ConfigError, load_config, parse_config
from recorderd.config.units import parse_duration, parse_size, parse_usage

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "recorderd.example.toml"

CAM = '[cameras.front]\ndialect = "vapix"\nurl = "http://127.0.0.1:1/"\n'

# (name, config text, expected message fragments: every one must be in the output)
BROKEN: list[tuple[str, str, list[str]]] = [
    ("syntax error", '[daemon]\ntimezone = "UTC"\nstate_dir = \n', ["t.toml:3:13: syntax error"]),
    ("unclosed table", "[cameras.front\n", ["t.toml:1:", "syntax error"]),
    ("wrong type", CAM + "audio = 3\n", ["t.toml: cameras.front.audio: expected true or false, got 3"]),
    ("unknown key top", "[daemonn]\n", ["t.toml: daemonn: unknown key"]),
    (
        "unknown key nested",
        CAM + 'record = { pre = "5s", psot = "1s" }\n',
        ["t.toml: cameras.front.record.psot: unknown key"],
    ),
    (
        "bad duration",
        CAM + 'record = { pre = "five" }\n',
        ['t.toml: cameras.front.record.pre: expected a duration like "5s", got "five"'],
    ),
    (
        "number as duration",
        CAM + "read_timeout = 5\n",
        ['t.toml: cameras.front.read_timeout: expected a duration like "5s", got 5'],
    ),
    (
        "missing url",
        '[cameras.front]\ndialect = "foscam"\n',
        ['t.toml: cameras.front.url: missing (dialect "foscam" needs url)'],
    ),
    (
        "mjpeg needs video_url",
        '[cameras.s]\ndialect = "mjpeg"\nurl = "http://127.0.0.1/"\n',
        ['t.toml: cameras.s.video_url: missing (dialect "mjpeg" needs video_url)'],
    ),
    (
        "unknown dialect",
        '[cameras.front]\ndialect = "sony"\nurl = "http://127.0.0.1/"\n',
        ['t.toml: cameras.front.dialect: unknown dialect "sony"'],
    ),
    (
        "unknown target in actions",
        CAM + 'actions = ["mail"]\n',
        ['t.toml: cameras.front.actions: unknown target "mail"'],
    ),
    (
        "mqtt action without mqtt",
        CAM + 'actions = ["mqtt"]\n',
        ['t.toml: cameras.front.actions: action "mqtt" needs an [mqtt] section'],
    ),
    (
        "bad timezone",
        CAM + 'timezone = "Europe/Berln"\n',
        [
            't.toml: cameras.front.timezone: expected an IANA time zone like "Europe/Berlin", got "Europe/Berln"'
        ],
    ),
    ("bad daemon timezone", '[daemon]\ntimezone = "CEST"\n', ["t.toml: daemon.timezone: expected an IANA"]),
    (
        "bad size",
        '[storage]\nmin_free = "5 gigs"\n',
        ['t.toml: storage.min_free: expected a size like "500MiB", got "5 gigs"'],
    ),
    ("bad share", '[storage]\nmax_usage = "190%"\n', ["t.toml: storage.max_usage: expected a share like"]),
    (
        "bad url",
        '[cameras.front]\ndialect = "vapix"\nurl = "ftp://x/"\n',
        ['t.toml: cameras.front.url: expected an http:// or https:// URL, got "ftp://x/"'],
    ),
    ("unknown target kind", '[targets.x]\nkind = "pager"\n', ['t.toml: targets.x: unknown kind "pager"']),
    (
        "target missing host",
        '[targets.m]\nkind = "email"\nfrom = "a@b"\nto = ["c@d"]\n',
        ["t.toml: targets.m.host: missing (required)"],
    ),
    (
        "two secrets",
        CAM + 'password = "x"\npassword_file = "/nonexistent/pw"\n',
        ["t.toml: cameras.front.password_file: cannot read /nonexistent/pw"],
    ),
    (
        "unset env secret",
        CAM + 'password_env = "RECORDERD_TEST_UNSET_VAR"\n',
        ["t.toml: cameras.front.password_env: environment variable RECORDERD_TEST_UNSET_VAR is not set"],
    ),
    (
        "bad trigger",
        CAM + 'triggers = ["moton"]\n',
        ['t.toml: cameras.front.triggers: unknown trigger "moton"'],
    ),
    (
        "bad schedule name",
        CAM + 'schedule = "sometimes"\n',
        ["t.toml: cameras.front.schedule: expected 'always', 'never' or 'camera', got \"sometimes\""],
    ),
    (
        "bad schedule window",
        CAM + 'schedule = { mon = "8-12" }\n',
        ['t.toml: cameras.front.schedule: expected a time like "08:00", got "8"'],
    ),
    (
        "bad schedule day",
        CAM + 'schedule = { monday = "08:00-12:00" }\n',
        ['t.toml: cameras.front.schedule: expected a day like "mon"'],
    ),
    (
        "schedule window not a string",
        CAM + "schedule = { mon = 5 }\n",
        [
            't.toml: cameras.front.schedule.mon: expected a window like "08:00-18:00" or an array of them, got 5'
        ],
    ),
    (
        "schedule window a table",
        CAM + 'schedule = { mon = { "08:00-09:00" = 1 } }\n',
        ["t.toml: cameras.front.schedule.mon: expected a window like", "got a table"],
    ),
    (
        "schedule window list item",
        CAM + 'schedule = { mon = ["08:00-09:00", 5] }\n',
        ["t.toml: cameras.front.schedule.mon.1: expected a string, got 5"],
    ),
    (
        "empty schedule table",
        CAM + "schedule = {}\n",
        ['t.toml: cameras.front.schedule: expected at least one day like mon = "08:00-18:00"'],
    ),
    (
        "empty action schedule",
        '[targets.h]\nkind = "http"\nurl = "http://127.0.0.1/"\nschedule = {}\n',
        ["t.toml: targets.h.schedule: expected at least one day"],
    ),
    (
        "two http tokens",
        '[daemon]\nhttp_token = "x"\nhttp_token_file = "/etc/hostname"\n',
        ["t.toml: daemon: give only one of http_token, http_token_file (got http_token, http_token_file)"],
    ),
    (
        "empty http token",
        '[daemon]\nhttp_token = "  "\n',
        [
            "t.toml: daemon: http_token is empty: give a token (for example `openssl rand -hex 32`) or remove the key"
        ],
    ),
    (
        "endpoint open to other hosts without a token",
        '[daemon]\nhttp_listen = "0.0.0.0:8765"\n',
        ['t.toml: daemon: http_listen "0.0.0.0:8765" is reachable from other hosts: set http_token or'],
    ),
    (
        "endpoint on every IPv6 address without a token",
        '[daemon]\nhttp_listen = "[::]:8765"\n',
        ['t.toml: daemon: http_listen "[::]:8765" is reachable from other hosts'],
    ),
    (
        "unreadable http token file",
        '[daemon]\nhttp_token_file = "/nonexistent/token"\n',
        ["t.toml: daemon.http_token_file: cannot read /nonexistent/token: No such file or directory"],
    ),
    (
        "schedule day mask range",
        CAM + 'schedule = { days = 300, start = "08:00:00", stop = "09:00:00" }\n',
        ["t.toml: cameras.front.schedule.days: expected a value less than or equal to 127, got 300"],
    ),
    (
        "schedule weekdays",
        CAM + 'schedule = { weekdays = "11111", start = "08:00", duration = 2 }\n',
        ['t.toml: cameras.front.schedule.weekdays: not a valid value: "11111"'],
    ),
    (
        "foscam word unknown",
        CAM + "schedule = { foscam = { sun_3 = 1 } }\n",
        ["t.toml: cameras.front.schedule.foscam.sun_3: unknown key"],
    ),
    (
        "relay pattern too long",
        CAM + 'actions = [{ target = "output:1", pulses = ["30s", "1s", "30s"] }]\n',
        ["t.toml: cameras.front.actions.0.pulses: a pulse pattern may last at most 60s in all, got 61s"],
    ),
    (
        "relay pulse of no length",
        CAM + 'actions = [{ target = "output:1", pulses = ["0s"] }]\n',
        ["t.toml: cameras.front.actions.0.pulses: an active time must be at least 1ms"],
    ),
    (
        "relay on an mjpeg camera",
        '[cameras.s]\ndialect = "mjpeg"\nvideo_url = "http://127.0.0.1/"\nactions = ["mqtt", "output:1"]\n'
        "[mqtt]\n",
        ['t.toml: cameras.s.actions: "output:1": dialect "mjpeg" has no output relay CGI'],
    ),
    (
        "preset on an mjpeg camera",
        '[cameras.s]\ndialect = "mjpeg"\nvideo_url = "http://127.0.0.1/"\n'
        'actions = [{ target = "preset:2", triggers = ["motion"] }]\n',
        ['t.toml: cameras.s.actions: "preset:2": dialect "mjpeg" has no PTZ preset CGI'],
    ),
    (
        "foscam has one output",
        '[cameras.f]\ndialect = "foscam"\nurl = "http://127.0.0.1/"\nactions = ["output:2"]\n',
        ['t.toml: cameras.f.actions: "output:2": foscam offers output:1'],
    ),
    (
        "foscam preset range",
        '[cameras.f]\ndialect = "netwave"\nurl = "http://127.0.0.1/"\nactions = ["preset:33"]\n',
        ['t.toml: cameras.f.actions: "preset:33": foscam offers preset:1 to preset:32'],
    ),
    (
        "ipcamcgi outputs",
        '[cameras.d]\ndialect = "dlink"\nurl = "http://127.0.0.1/"\nactions = ["output:3"]\n',
        ['t.toml: cameras.d.actions: "output:3": ipcamcgi offers output:1, output:2'],
    ),
    # what the dialect's document offers: every trigger, "camera" schedules, audio, action ranges
    (
        "ipcamcgi has two inputs",
        '[cameras.d]\ndialect = "ipcamcgi"\nurl = "http://127.0.0.1/"\ntriggers = ["motion", "input:3"]\n',
        ['t.toml: cameras.d.triggers: trigger "input:3": ipcamcgi offers motion, input:1, input:2'],
    ),
    (
        "vapix has no sound",
        CAM + 'triggers = ["sound"]\n',
        [
            't.toml: cameras.front.triggers: trigger "sound": vapix offers motion, motion:<window>, '
            "input:1 to input:8, output:1 to output:8"
        ],
    ),
    (
        "openapi has no tamper",
        '[cameras.g]\ndialect = "openapi"\nurl = "http://127.0.0.1/"\ntriggers = ["tamper"]\n',
        [
            't.toml: cameras.g.triggers: trigger "tamper": openapi offers motion, motion:<window>, input:1 to input:8'
        ],
    ),
    (
        "foscam has one input and no faces",
        '[cameras.f]\ndialect = "foscam"\nurl = "http://127.0.0.1/"\ntriggers = ["input:2"]\n',
        ['t.toml: cameras.f.triggers: trigger "input:2": foscam offers motion, input:1, sound'],
    ),
    (
        "foscam has no motion windows",
        '[cameras.f]\ndialect = "foscam"\nurl = "http://127.0.0.1/"\ntriggers = ["face"]\n',
        ['t.toml: cameras.f.triggers: trigger "face": foscam offers motion, input:1, sound'],
    ),
    (
        "move motion windows",
        '[cameras.h]\ndialect = "move"\nurl = "http://127.0.0.1/"\ntriggers = ["motion:4"]\n',
        [
            't.toml: cameras.h.triggers: trigger "motion:4": move offers motion, motion:0 to motion:3, '
            "input:1 to input:8, output:1 to output:8, tamper, face"
        ],
    ),
    (
        "no output source on openapi",
        '[cameras.g]\ndialect = "openapi"\nurl = "http://127.0.0.1/"\ntriggers = ["output:1"]\n',
        ['t.toml: cameras.g.triggers: trigger "output:1": openapi offers motion'],
    ),
    (
        "plain mjpeg has no motion",
        '[cameras.s]\ndialect = "mjpeg"\nvideo_url = "http://127.0.0.1/"\ntriggers = ["motion"]\n',
        ['t.toml: cameras.s.triggers: trigger "motion": mjpeg offers no triggers'],
    ),
    (
        "openapi keeps no schedule",
        '[cameras.g]\ndialect = "openapi"\nurl = "http://127.0.0.1/"\nschedule = "camera"\nprivacy = "camera"\n',
        [
            't.toml: cameras.g.schedule: "camera": openapi cameras keep no arming schedule a client can read',
            't.toml: cameras.g.privacy: "camera": openapi cameras keep no privacy schedule a client can read',
        ],
    ),
    (
        "vapix keeps no privacy",
        CAM + 'privacy = "camera"\n',
        [
            't.toml: cameras.front.privacy: "camera": vapix cameras keep no privacy schedule a client can read '
            '(only schedule = "camera")'
        ],
    ),
    (
        "foscam has no audio",
        '[cameras.f]\ndialect = "foscam"\nurl = "http://127.0.0.1/"\naudio = true\n',
        ["t.toml: cameras.f.audio: foscam offers no audio stream"],
    ),
    (
        "move preset range",
        '[cameras.h]\ndialect = "move"\nurl = "http://127.0.0.1/"\nactions = ["preset:257"]\n',
        ['t.toml: cameras.h.actions: "preset:257": move offers preset:1 to preset:256'],
    ),
    (
        "vapix preset 0",
        CAM + 'actions = ["preset:0"]\n',
        ['t.toml: cameras.front.actions: "preset:0": vapix offers preset:1 or more'],
    ),
    # a relay that drives the bit a trigger reads: each pulse would be a new incident
    (
        "ipcamcgi relay loop",
        '[cameras.d]\ndialect = "ipcamcgi"\nurl = "http://127.0.0.1/"\ntriggers = ["input:1", "motion"]\n'
        'actions = ["output:1"]\n',
        [
            't.toml: cameras.d.actions: "output:1" switches the bit this camera reports as "input:1", which is '
            'one of its triggers ("input:1"): every pulse would start a new incident'
        ],
    ),
    (
        "move relay loop",
        '[cameras.h]\ndialect = "move"\nurl = "http://127.0.0.1/"\ntriggers = ["output:2"]\n'
        'actions = [{ target = "output:2", triggers = ["output:2"] }]\n',
        ['t.toml: cameras.h.actions: "output:2" switches the bit this camera reports as "output:2"'],
    ),
    (
        "pulses on a preset",
        CAM + 'actions = [{ target = "preset:3", pulses = ["1s"] }]\n',
        ["t.toml: cameras.front.actions.0.pulses: pulses apply to output:<n> actions only"],
    ),
    (
        "bad listen",
        '[daemon]\nhttp_listen = "localhost"\n',
        ["t.toml: daemon.http_listen: expected host:port"],
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_config_names_key_path(
    name: str, text: str, expected: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text)
    status = main(["check-config", "-c", str(path)])
    err = capsys.readouterr().err
    assert status == 2
    for fragment in expected:
        assert fragment.replace("t.toml", str(path)) in err, err
    assert "Traceback" not in err


def test_all_errors_reported_at_once() -> None:
    text = (
        '[daemon]\ntimezone = "Nowhere/City"\n'
        '[cameras.a]\ndialect = "vapix"\nrecord = { pre = "x" }\n'
        '[cameras.b]\ndialect = "nope"\nurl = "http://127.0.0.1/"\nbogus = 1\n'
    )
    with pytest.raises(ConfigError) as exc:
        parse_config(text, name="t.toml")
    paths = {m.split(": ")[1] for m in exc.value.messages}
    assert paths == {
        "daemon.timezone",
        "cameras.a.url",
        "cameras.a.record.pre",
        "cameras.b.dialect",
        "cameras.b.bogus",
    }


def test_secret_never_in_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.toml"
    path.write_text(CAM + "password = 12345678\n")
    assert main(["check-config", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "cameras.front.password" in err
    assert "12345678" not in err


@pytest.mark.parametrize(
    "text",
    [
        '[cameras.front]\ndialect = "vapix"\nurl = "rtsp://admin:hunter2@cam/"\n',
        '[cameras.front]\ndialect = "mjpeg"\nvideo_url = "rtsp://admin:hunter2@cam/x"\n',
        '[targets.h]\nkind = "http"\nurl = "ftp://admin:hunter2@host/x"\n',
        '[targets.h]\nkind = "http"\nurl = "ws://admin:p@ss/hunter2@host/x"\n',  # "@" and "/" in it
    ],
)
def test_credentials_in_a_shown_url_are_stripped(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text)
    assert main(["check-config", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "expected an http:// or https:// URL, got" in err
    assert "://host/x" in err or "://cam/" in err
    assert "hunter2" not in err and "admin" not in err


def test_example_config_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "-c", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "6 cameras" in out and "3 targets" in out


def test_example_covers_every_key() -> None:
    """Every field of every model appears in the example, so the example stays the reference."""
    from pydantic import BaseModel

    from recorderd.config import model

    text = EXAMPLE.read_text()
    missing = []
    for cls in (
        model.DaemonConfig,
        model.StorageConfig,
        model.MqttConfig,
        model.EmailTarget,
        model.FtpTarget,
        model.HttpTarget,
        model.RecordConfig,
        model.CameraConfig,
        model.MqttTls,
    ):
        assert issubclass(cls, BaseModel)
        for fname, field in cls.model_fields.items():
            key = field.alias or fname
            if f"{key} =" not in text and f"{key}=" not in text:
                missing.append(f"{cls.__name__}.{key}")
    assert not missing, missing


def test_config_path_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "env.toml"
    path.write_text(CAM)
    monkeypatch.setenv("RECORDERD_CONFIG", str(path))
    assert main(["check-config"]) == 0
    assert str(path) in capsys.readouterr().out


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "-c", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: cannot read: No such file or directory" in capsys.readouterr().err


def test_secret_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw").write_text("from-file\n")
    monkeypatch.setenv("CAM_PW", "from-env")
    cfg = parse_config(
        CAM + 'password_file = "pw"\n[cameras.b]\ndialect = "vapix"\nurl = "http://127.0.0.1/"\n'
        'password_env = "CAM_PW"\n',
        base_dir=tmp_path,
    )
    assert cfg.cameras["front"].secret() == "from-file"
    assert cfg.cameras["b"].secret() == "from-env"
    assert "from-env" not in repr(cfg) and "from-file" not in repr(cfg)


def test_units() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1h30m") == 5400
    assert parse_duration("30d") == 30 * 86400
    assert parse_size("2GiB") == 2 * 1024**3
    assert parse_size("500MiB") == 500 * 1024**2
    assert parse_usage("90%").share == 0.9
    assert parse_usage("1GiB").limit(10**12) == 1024**3


def test_load_example_typed() -> None:
    cfg = load_config(EXAMPLE)
    front = cfg.cameras["front"]
    assert front.record.pre == 5.0 and front.record.max == 600.0
    assert cfg.cameras["door"].dialect == "ipcamcgi"
    assert cfg.targets["mail"].kind == "email"


def test_console_script_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[x\n")
    proc = subprocess.run(
        [sys.executable, "-m", "recorderd", "check-config", "-c", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "syntax error" in proc.stderr and "Traceback" not in proc.stderr
    version = subprocess.run([sys.executable, "-m", "recorderd", "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("recorderd ")


def test_action_rule_pulses() -> None:
    cfg = parse_config(CAM + 'actions = [{ target = "output:1", pulses = ["300ms", "500ms", "300ms"] }]\n')
    rule = cfg.cameras["front"].actions[0]  # type: ignore[index]
    assert not isinstance(rule, str)
    assert rule.pulse_pairs() == [(300, 500), (300, 0)]


def test_linkage_the_dialect_can_do_is_accepted() -> None:
    cfg = parse_config(
        '[cameras.d]\ndialect = "ipcamcgi"\nurl = "http://127.0.0.1/"\nactions = ["output:2", "preset:0"]\n'
        '[cameras.f]\ndialect = "foscam"\nurl = "http://127.0.0.1/"\nactions = ["output:1", "preset:32"]\n'
        '[cameras.m]\ndialect = "move"\nurl = "http://127.0.0.1/"\nactions = ["output:4", "preset:7"]\n'
    )
    assert cfg.cameras["d"].actions == ["output:2", "preset:0"]


def test_http_token_sources(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    assert (
        parse_config('[daemon]\nhttp_token_file = "token"\n', base_dir=tmp_path).daemon.token() == "from-file"
    )
    cfg = parse_config('[daemon]\nhttp_token = "s3cret"\n')
    assert cfg.daemon.token() == "s3cret" and "s3cret" not in repr(cfg)
    assert parse_config("[daemon]\n").daemon.token() is None
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="http_token_file is empty"):
        parse_config('[daemon]\nhttp_token_file = "empty"\n', base_dir=tmp_path)
    # loopback without a token stays allowed; any address with one too
    for listen in ("127.0.0.1:1", "[::1]:1", "localhost:1", "127.0.0.2:1"):
        assert parse_config(f'[daemon]\nhttp_listen = "{listen}"\n').daemon.token() is None
    assert parse_config('[daemon]\nhttp_listen = "0.0.0.0:1"\nhttp_token = "t"\n').daemon.token() == "t"
