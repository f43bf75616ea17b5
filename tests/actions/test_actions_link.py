"""Camera linkage: the per-dialect requests (pure) and the sender against a local HTTP camera."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from recorderd.actions.link import (
    OFF_GRACE,
    LinkRequest,
    LinkSender,
    LinkUnsupported,
    Pulse,
    Wait,
    output_steps,
    preset_steps,
)
from recorderd.actions.outbox import Action, DeliveryError
from recorderd.actions.runtime import open_actions
from recorderd.config.model import CameraConfig
from recorderd.sim import SimCameraConfig, SimConfig, open_simulator
from tests.support.targets import FAST, HttpReceiver, Reports, config, event

PULSES = [(300, 500), (300, 0)]


def test_vapix_pulses_are_one_request_as_in_the_document() -> None:
    assert output_steps("vapix", 1, PULSES) == [
        LinkRequest("io/output.cgi", (("action", "1:/300\\500/300\\"),))
    ]
    assert output_steps("openapi", 2, [(1000, 0)]) == [LinkRequest("output.cgi", (("action", "2:/1000\\"),))]


def test_toggling_dialects_end_inactive() -> None:
    on = LinkRequest("decoder_control.cgi", (("command", "94"),))
    off = LinkRequest("decoder_control.cgi", (("command", "95"),))
    assert output_steps("foscam", 1, PULSES) == [Pulse(on, 0.3, off), Wait(0.5), Pulse(on, 0.3, off)]
    assert output_steps("ipcamcgi", 2, [(200, 0)]) == [
        Pulse(
            LinkRequest("iocontrol.cgi", (("Trigger2", "1"),)),
            0.2,
            LinkRequest("iocontrol.cgi", (("Trigger2", "0"),)),
        )
    ]
    (pulse,) = output_steps("move", 1, [(100, 0)])
    assert isinstance(pulse, Pulse)
    assert (pulse.on.params, pulse.off.params) == ((("action", "1:/"),), (("action", "1:\\"),))


def test_presets_per_dialect() -> None:
    assert preset_steps("vapix", 3) == [LinkRequest("com/ptz.cgi", (("gotoserverpresetno", "3"),))]
    assert preset_steps("move", 3)[0].path == "cgi-bin/com/ptz.cgi"  # type: ignore[union-attr]
    assert preset_steps("foscam", 1) == [LinkRequest("decoder_control.cgi", (("command", "31"),))]
    assert preset_steps("foscam", 16)[0].params == (("command", "61"),)  # type: ignore[union-attr]
    assert preset_steps("foscam", 32)[0].params == (("command", "93"),)  # type: ignore[union-attr]
    assert preset_steps("ipcamcgi", 0) == [
        LinkRequest("pantiltcontrol.cgi", (("PanTiltPresetPositionMove", "0"),))
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda: output_steps("mjpeg", 1),
        lambda: output_steps("foscam", 2),
        lambda: output_steps("ipcamcgi", 3),
        lambda: output_steps("vapix", 1, []),
        lambda: output_steps("move", 1, [(30_000, 1_000), (30_000, 0)]),  # over 60 s in all
        lambda: preset_steps("foscam", 33),
        lambda: preset_steps("vapix", 0),
        lambda: preset_steps("mjpeg", 1),
    ],
)
def test_unsupported_operations(call: object) -> None:
    assert callable(call)
    with pytest.raises(LinkUnsupported):
        call()


def camera_config(tmp_path: Path, dialect: str, url: str, auth: str, actions: str) -> str:
    return f"""
[daemon]
state_dir = "{tmp_path}/state"

[cameras.cam]
dialect = "{dialect}"
url = "{url}"
username = "admin"
password = "pw"
auth = "{auth}"
actions = {actions}
"""


async def test_relay_and_preset_through_the_outbox_with_digest(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    http_receiver.digest = ("admin", "pw")
    cfg = config(
        camera_config(tmp_path, "vapix", http_receiver.url + "axis-cgi", "auto", '["output:1", "preset:3"]')
    )
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        assert len(await d.dispatch(event(camera="cam"))) == 2
        assert await d.dispatch(event("end", camera="cam")) == []  # linkage acts on start only
        await reports.wait("done", 2)
    seen = sorted((r.path, tuple(r.query)) for r in http_receiver.requests)
    assert seen == [
        ("/axis-cgi/com/ptz.cgi", (("gotoserverpresetno", "3"),)),
        ("/axis-cgi/io/output.cgi", (("action", "1:/1000\\"),)),
    ]


async def test_foscam_query_auth_and_error_body(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    http_receiver.query_auth = ("admin", "pw")  # auto finds it: 401 without a challenge
    cfg = config(camera_config(tmp_path, "foscam", http_receiver.url, "auto", '["preset:2"]'))
    cam = cfg.cameras["cam"]
    assert isinstance(cam, CameraConfig)
    async with httpx.AsyncClient() as client:
        sender = LinkSender("cam", cam, client, timeout=5)
        with trio.fail_after(5):
            await sender.run_steps(output_steps("foscam", 1, [(50, 0)]))
        assert [dict(r.query) for r in http_receiver.requests] == [
            {"command": "94", "user": "admin", "pwd": "pw"},
            {"command": "95", "user": "admin", "pwd": "pw"},
        ]
        http_receiver.body = b"error: illegal params.\n"
        with trio.fail_after(5), pytest.raises(DeliveryError) as err:
            await sender.run_steps(preset_steps("foscam", 2))
        assert "illegal params" in err.value.message and "pw" not in err.value.message.replace("params", "")


def link_action(op: dict[str, object]) -> Action:
    return Action(1, "camera:cam", "link", {"op": op}, 0.0, 1, 0.0, 60.0, "pending", None)


async def test_relay_is_switched_off_when_the_pulse_is_cut_short(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    """An attempt timeout or a shutdown during the wait still sends "off" (shielded)."""
    cfg = config(camera_config(tmp_path, "move", http_receiver.url, "basic", '["output:1"]'))
    async with httpx.AsyncClient() as client:
        sender = LinkSender("cam", cfg.cameras["cam"], client, timeout=5)
        with trio.fail_after(5):
            with trio.move_on_after(0.3) as cut:
                await sender.run_steps(output_steps("move", 1, [(30_000, 0)]))
        assert cut.cancelled_caught
    assert [dict(r.query)["action"] for r in http_receiver.requests] == ["1:/", "1:\\"]


async def test_relay_is_switched_off_when_on_fails(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    cfg = config(camera_config(tmp_path, "foscam", http_receiver.url, "query", '["output:1"]'))
    http_receiver.statuses = [500]
    async with httpx.AsyncClient() as client:
        sender = LinkSender("cam", cfg.cameras["cam"], client, timeout=5)
        with trio.fail_after(5), pytest.raises(DeliveryError) as err:
            await sender.run_steps(output_steps("foscam", 1, [(10_000, 0)]))
    assert "HTTP 500" in err.value.message  # the first failure is the one reported
    assert [dict(r.query)["command"] for r in http_receiver.requests] == ["94", "95"]


async def test_no_off_when_on_never_reached_the_camera(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = config(camera_config(tmp_path, "move", "http://127.0.0.1:1/", "basic", '["output:1"]'))
    async with httpx.AsyncClient() as client:
        sender = LinkSender("cam", cfg.cameras["cam"], client, timeout=5)
        with trio.fail_after(5), pytest.raises(DeliveryError) as err:
            await sender.run_steps(output_steps("move", 1, [(10_000, 0)]))
    assert err.value.code == 1 and "refused" in err.value.message
    assert "may still be on" not in caplog.text


async def test_a_failed_off_fails_the_attempt(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    cfg = config(camera_config(tmp_path, "move", http_receiver.url, "basic", '["output:1"]'))
    http_receiver.statuses = [200, 503]
    async with httpx.AsyncClient() as client:
        sender = LinkSender("cam", cfg.cameras["cam"], client, timeout=5)
        with trio.fail_after(5), pytest.raises(DeliveryError) as err:
            await sender.run_steps(output_steps("move", 1, [(50, 0)]))
    assert "switching the output off" in err.value.message  # retried: a new pulse ends inactive


async def test_attempt_deadline_covers_the_pattern(tmp_path: Path) -> None:
    cfg = config(camera_config(tmp_path, "foscam", "http://127.0.0.1:9/", "query", '["output:1"]'))
    async with httpx.AsyncClient() as client:
        sender = LinkSender("cam", cfg.cameras["cam"], client, timeout=2)
    op = {"output": 1, "pulses": [[20_000, 10_000], [20_000, 0]]}
    # 50 s of waits, 4 requests of at most 2 s, the grace for the last "off"
    assert sender.timeout_for(link_action(op)) == 50 + 4 * 2 + OFF_GRACE
    assert sender.timeout_for(link_action({"preset": 3})) == 2 + OFF_GRACE


async def test_credentials_on_every_redirect_hop(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    """A camera that redirects its CGI: the Foscam CGI's query credentials go with the second hop too."""
    http_receiver.query_auth = ("admin", "pw")
    http_receiver.redirects = {"/decoder_control.cgi": "/cgi-bin/decoder_control.cgi?command=31"}
    cfg = config(camera_config(tmp_path, "foscam", http_receiver.url, "query", '["preset:1"]'))
    async with httpx.AsyncClient() as client:
        sender = LinkSender("cam", cfg.cameras["cam"], client, timeout=5)
        with trio.fail_after(5):
            await sender.run_steps(preset_steps("foscam", 1))
    assert [(r.path, dict(r.query)) for r in http_receiver.requests] == [
        ("/cgi-bin/decoder_control.cgi", {"command": "31", "user": "admin", "pwd": "pw"})
    ]


SIM_SMALL = {"width": 160, "height": 120, "frames": 10, "quality": 50}


@pytest.mark.parametrize("auth", ["configured", "auto"])
async def test_every_dialect_against_the_simulator(auth: str) -> None:
    """A pulse and a preset move on each dialect's simulated camera, with its own auth or auto."""
    dialects = ["vapix", "openapi", "move", "foscam", "ipcamcgi"]
    cfg = SimConfig(cameras={d: SimCameraConfig(dialect=d, **SIM_SMALL) for d in dialects})
    async with open_simulator(cfg) as sim, httpx.AsyncClient() as client:
        for d in dialects:
            table = sim[d].recorderd_camera()
            if auth == "auto":
                table["auth"] = "auto"
            cam = CameraConfig.model_validate(table, context={"targets": set(), "mqtt": False})
            sender = LinkSender(d, cam, client, timeout=5)
            with trio.fail_after(10):
                await sender.run_steps(output_steps(d, 1, [(50, 0)]))
                await sender.run_steps(preset_steps(d, 2))
            calls = [(c.path, c.params) for c in sim[d].calls()]
            relay, preset = calls[:-1], calls[-1]
            assert {
                "vapix": [("/io/output.cgi", {"action": "1:/50\\"})],
                "openapi": [("/output.cgi", {"action": "1:/50\\"})],
                "move": [
                    ("/cgi-bin/io/output.cgi", {"action": "1:/"}),
                    ("/cgi-bin/io/output.cgi", {"action": "1:\\"}),
                ],
                "foscam": [
                    ("/decoder_control.cgi", {"command": "94"}),
                    ("/decoder_control.cgi", {"command": "95"}),
                ],
                "ipcamcgi": [("/iocontrol.cgi", {"Trigger1": "1"}), ("/iocontrol.cgi", {"Trigger1": "0"})],
            }[d] == relay, d
            assert preset[1] in (
                {"gotoserverpresetno": "2"},
                {"command": "33"},
                {"PanTiltPresetPositionMove": "2"},
            ), d
