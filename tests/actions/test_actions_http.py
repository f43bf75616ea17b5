"""HTTP targets and the dispatcher's rules against a local HTTP receiver."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from recorderd.actions.dispatcher import Dispatcher, trigger_matches
from recorderd.actions.runtime import open_actions
from recorderd.schedule.spec import ScheduleSpec
from tests.support.targets import FAST, HttpReceiver, Reports, config, event


def http_config(tmp_path: Path, url: str, extra: str = "", actions: str = '["hook"]') -> str:
    return f"""
[daemon]
state_dir = "{tmp_path}/state"

[targets.hook]
kind = "http"
url = "{url}"
timeout = "5s"
headers = {{ "X-Source" = "recorderd" }}
{extra}

[cameras.front]
dialect = "vapix"
url = "http://127.0.0.1:9/"
actions = {actions}
"""


async def test_get_url_template_per_event(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    url = http_receiver.url + "alarm/{camera}?trigger={trigger}&type={type}&time={time}&id={id}"
    cfg = config(http_config(tmp_path, url))
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        await d.dispatch(event(trigger="input:1"))
        await d.dispatch(event("end", trigger="input:1", recording="/r/a b.mkv"))
        await reports.wait("done", 2)
    got = sorted(http_receiver.requests, key=lambda r: dict(r.query)["type"], reverse=True)
    assert [(r.method, r.path) for r in got] == [("GET", "/alarm/front"), ("GET", "/alarm/front")]
    assert dict(got[0].query) == {
        "trigger": "input:1",
        "type": "start",
        "time": "2024-03-01T12:30:45.123000+01:00",  # the "+" arrived: it was encoded
        "id": "front-1",
    }
    assert got[0].headers["X-Source"] == "recorderd"
    assert got[0].headers["X-Recorderd-Event"] == "front-1:start"
    assert got[1].headers["X-Recorderd-Event"] == "front-1:end"


async def test_post_event_json_with_basic_auth_and_retry_on_5xx(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    http_receiver.basic = ("hook", "pa:ss")
    http_receiver.statuses = [503]
    cfg = config(
        http_config(
            tmp_path, http_receiver.url + "events", 'method = "POST"\nusername = "hook"\npassword = "pa:ss"'
        )
    )
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        await d.dispatch(event(recording="/r/1.mkv"))
        await reports.wait("done")
    assert reports.count("retry") == 1 and reports.items[0].error == "hook: HTTP 503 Service Unavailable"
    assert [r.json() for r in http_receiver.requests] == [event(recording="/r/1.mkv").to_dict()] * 2


async def test_digest_auth(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    http_receiver.digest = ("hook", "secret")
    extra = 'auth = "digest"\nusername = "hook"\npassword = "secret"'
    cfg = config(http_config(tmp_path, http_receiver.url + "d?c={camera}", extra))
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        await d.dispatch(event())
        await reports.wait("done")
    assert [dict(r.query) for r in http_receiver.requests] == [{"c": "front"}]


async def test_wrong_password_is_reported_without_secrets(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    http_receiver.basic = ("hook", "right")
    cfg = config(
        http_config(
            tmp_path, http_receiver.url + "x?token=t0ps3cret", 'username = "hook"\npassword = "wrong"'
        )
    )
    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports) as d:
        await d.dispatch(event())
        await reports.wait("retry")
    error = reports.items[0].error or ""
    assert error == "hook: HTTP 401 Unauthorized" and "t0ps3cret" not in error


async def test_rules_triggers_schedules_and_disarmed(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    actions = (
        '[{ target = "hook", triggers = ["input:1"] }, '
        '{ target = "hook", triggers = ["motion"], schedule = { "mon-fri" = "08:00-18:00" } }, '
        '{ target = "hook", triggers = ["sound"], schedule = "never" }]'
    )
    cfg = config(http_config(tmp_path, http_receiver.url, actions=actions))
    asked: list[tuple[str, datetime]] = []

    def check(spec: ScheduleSpec, zone: ZoneInfo, at: datetime) -> bool:
        asked.append((str(zone), at))
        return at.hour < 12

    reports = Reports()
    async with open_actions(cfg, policy=FAST, observer=reports, schedule_check=check) as d:
        assert len(await d.dispatch(event(trigger="input:1"))) == 1
        assert await d.dispatch(event(trigger="motion:2")) == []  # 12:30: outside the (fake) schedule
        morning = event(trigger="motion", at=datetime(2024, 3, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")))
        assert len(await d.dispatch(morning)) == 1
        assert await d.dispatch(event(trigger="sound")) == []
        assert await d.dispatch(event(trigger="input:1", armed=False)) == []
        assert await d.dispatch(event(camera="nope")) == []
        await reports.wait("done", 2)
    assert [z for z, _ in asked] == ["UTC", "UTC"]
    assert trigger_matches("motion:1", ["motion"]) and not trigger_matches("motion", ["motion:1"])


async def test_mqtt_only_cameras_enqueue_nothing(tmp_path: Path) -> None:
    cfg = config(
        f"""
[daemon]
state_dir = "{tmp_path}/state"
[mqtt]
host = "127.0.0.1"
[cameras.front]
dialect = "vapix"
url = "http://127.0.0.1:9/"
"""
    )
    async with open_actions(cfg) as d:
        assert isinstance(d, Dispatcher)
        assert await d.dispatch(event()) == []
        status = await d.outbox.status()
        assert status.counts == {}
    assert json.loads(event().to_json())["time"] == "2024-03-01T12:30:45.123000+01:00"


async def test_rule_schedule_with_the_schedule_engine(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    actions = '[{ target = "hook", schedule = { "mon-fri" = "08:00-18:00" } }]'
    cfg = config(http_config(tmp_path, http_receiver.url, actions=actions))
    async with open_actions(cfg, policy=FAST) as d:
        assert len(await d.dispatch(event())) == 1  # Friday 12:30
        saturday = event(at=datetime(2024, 3, 2, 12, 0, tzinfo=ZoneInfo("UTC")))
        assert await d.dispatch(saturday) == []
        evening = event(at=datetime(2024, 3, 1, 19, 0, tzinfo=ZoneInfo("UTC")))
        assert await d.dispatch(evening) == []
