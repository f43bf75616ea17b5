"""The config against what each dialect's document offers: defaults that make sense per dialect,
no relay loop, advice for cameras that can never produce anything, an example with no dead setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recorderd.cameras.drivers import driver_for
from recorderd.cli import main
from recorderd.config.advice import camera_advice, config_advice
from recorderd.config.load import ConfigError, load_config, parse_config
from recorderd.config.offers import trigger_problem
from recorderd.dialects.registry import DIALECTS, Dialect

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "recorderd.example.toml"


def test_plain_mjpeg_defaults_to_continuous_recording_without_triggers() -> None:
    cam = parse_config('[cameras.c]\ndialect = "mjpeg"\nvideo_url = "http://127.0.0.1/"\n').cameras["c"]
    assert cam.triggers == [] and cam.record.mode == "continuous"
    assert camera_advice(cam) == []
    # what is written stays: the record table's other keys keep the continuous default
    cam = parse_config(
        '[cameras.c]\ndialect = "mjpeg"\nvideo_url = "http://127.0.0.1/"\nrecord = { segment = "5m" }\n'
    ).cameras["c"]
    assert cam.record.mode == "continuous" and cam.record.segment == 300
    cam = parse_config(
        '[cameras.c]\ndialect = "mjpeg"\nvideo_url = "http://127.0.0.1/"\nrecord = { mode = "off" }\n'
    ).cameras["c"]
    assert cam.record.mode == "off"
    # dialects with a motion source keep motion and event recording
    cam = parse_config('[cameras.c]\ndialect = "vapix"\nurl = "http://127.0.0.1/"\n').cameras["c"]
    assert cam.triggers == ["motion"] and cam.record.mode == "event"


@pytest.mark.parametrize("dialect", sorted(Dialect))
def test_every_trigger_the_registry_offers_is_accepted(dialect: str) -> None:
    spec = DIALECTS[Dialect(dialect)]
    for t in ("motion", "motion:1", "input:1", "output:1", "sound", "tamper", "face"):
        family = t.partition(":")[0]
        ok = trigger_problem(spec, t) is None
        numbers = {"motion:1": spec.motion_windows, "input:1": spec.inputs, "output:1": spec.outputs}
        expected = family in spec.triggers and (t not in numbers or 1 in numbers[t])
        assert ok == expected, (dialect, t)


@pytest.mark.parametrize(
    ("dialect", "triggers", "action"),
    [
        ("ipcamcgi", ["input:2", "motion"], "output:1"),  # Trigger1 is pulsed, Trigger2 read
        ("openapi", ["input:1"], "output:1"),  # no output state readable: no echo
        ("vapix", ["input:1", "motion"], "output:1"),  # outputs are read only when asked as output:<n>
        ("move", ["output:2"], "output:1"),
        ("foscam", ["input:1"], "output:1"),
    ],
)
def test_a_relay_that_no_trigger_reads_is_fine(dialect: str, triggers: list[str], action: str) -> None:
    text = f'[cameras.c]\ndialect = "{dialect}"\nurl = "http://127.0.0.1/"\n'
    text += f"triggers = {json.dumps(triggers)}\nactions = {json.dumps([action])}\n"
    assert parse_config(text).cameras["c"].actions == [action]


def test_a_relay_loop_through_a_bare_family_is_refused() -> None:
    with pytest.raises(ConfigError, match=r'"output:2" switches the bit this camera reports as "input:2"'):
        parse_config(
            '[cameras.d]\ndialect = "dlink"\nurl = "http://127.0.0.1/"\ntriggers = ["motion", "input:2"]\n'
            'actions = [{ target = "output:2", triggers = ["motion"] }]\n'
        )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            'dialect = "mjpeg"\nvideo_url = "http://127.0.0.1/"\nrecord = { mode = "event" }\n',
            "records and alarms only when triggered by hand",
        ),
        (
            'dialect = "mjpeg"\nvideo_url = "http://127.0.0.1/"\nrecord = { mode = "off" }\n',
            "neither records",
        ),
        (
            'dialect = "vapix"\nurl = "http://127.0.0.1/"\nschedule = "never"\n',
            'schedule = "never": never armed',
        ),
        ('dialect = "vapix"\nurl = "http://127.0.0.1/"\narmed = "off"\n', 'armed = "off": never armed'),
        ('dialect = "vapix"\nurl = "http://127.0.0.1/"\nprivacy = "always"\n', "nothing is ever recorded"),
    ],
)
def test_advice_for_a_camera_that_can_never_produce(
    text: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[cameras.c]\n" + text)
    assert main(["check-config", "-c", str(path)]) == 0  # legal, so a warning, not a refusal
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {path}: cameras.c: ") and says in err, err


def test_advice_is_quiet_for_cameras_that_produce() -> None:
    for text in (
        'dialect = "vapix"\nurl = "http://127.0.0.1/"\n',
        'dialect = "vapix"\nurl = "http://127.0.0.1/"\nschedule = "never"\narmed = "on"\n',
        'dialect = "mjpeg"\nvideo_url = "http://127.0.0.1/"\n',
        'dialect = "move"\nurl = "http://127.0.0.1/"\nenabled = false\nrecord = { mode = "off" }\ntriggers = []\n',
    ):
        assert camera_advice(parse_config("[cameras.c]\n" + text).cameras["c"]) == []


def test_every_camera_of_the_example_can_produce_something(capsys: pytest.CaptureFixture[str]) -> None:
    """No dead setting: each camera records continuously or has triggers its dialect reports, is armed
    at some time, and its driver opens a stream for each thing it asks for."""
    cfg = load_config(EXAMPLE)
    assert config_advice(cfg) == []
    for name, cam in cfg.cameras.items():
        spec = DIALECTS[cam.dialect]
        assert cam.record.mode == "continuous" or cam.triggers, name
        for t in cam.triggers:
            assert trigger_problem(spec, t) is None, (name, t)
        specs = driver_for(cam).streams()
        assert specs, name
        kinds = {s.kind for s in specs}
        assert cam.record.mode == "off" or "video" in kinds, name
        assert not cam.triggers or kinds & {"events", "poll"} or cam.dialect == "ipcamcgi", name
    assert main(["check-config", "-c", str(EXAMPLE)]) == 0
    assert capsys.readouterr().err == ""
