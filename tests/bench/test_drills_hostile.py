"""The hostile-input drills (bench/drill_hostile.py) in short, each asserting its point's figure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.bench.conftest import needs_mosquitto, run_bench


def drill(tmp_path: Path, name: str, *args: str, timeout: float = 180) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    run_bench("drill_hostile.py", name, *args, "--json", str(out), timeout=timeout)
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


@needs_mosquitto
def test_storm_costs_the_healthy_camera_no_alarm(tmp_path: Path) -> None:
    """A 1000 parts/s motion storm in bursts (one every 0.45 s, so each would be an incident):
    the healthy camera's events all reach the outbox and the subscriber, the storm becomes one
    flapping incident after the rate limit, and both cameras keep their frames."""
    f = drill(
        tmp_path,
        "storm",
        *("--incidents", "3", "--on", "0.3", "--gap", "1.2", "--min-off", "0.5"),
        *("--quiet", "0.4", "--storm-min-off", "0.1", "--min-seconds", "12", "--settle", "30"),
    )
    assert f["healthy_events_at_outbox"] == f["healthy_events_wanted"] == 6, f
    assert f["healthy_events_at_subscriber"] == 6, f
    assert f["storm_storms"] == 1 and f["storm_flapping"], f
    assert f["storm_incidents"] <= 21 and f["index_incident_rows"] <= 21, f
    assert f["bus_dropped"]["actions"] == 0, f
    assert f["log_lines"] < 100, f
    assert min(f["frames"].values()) >= 5 * f["seconds"], f  # 10 fps each, give or take


@needs_mosquitto
def test_new_group_names_stay_bounded(tmp_path: Path) -> None:
    f = drill(
        tmp_path, "storm", "--incidents", "1", "--on", "0.3", "--gap", "2", "--new-groups", "--settle", "20"
    )
    assert f["trigger_names_kept"] <= 512 and f["healthy_events_at_subscriber"] == 2, f


def test_redirect_sink_gets_no_credentials(tmp_path: Path) -> None:
    f = drill(tmp_path, "redirect", "--seconds", "4")
    assert f["requests_to_cameras"] >= 8 and f["credential_handovers"] == 0, f
    assert all(f["logged"].values()) and not f["secret_in_log"], f


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_cross_site_page_changes_nothing(tmp_path: Path) -> None:
    pytest.importorskip("playwright")
    f = drill(tmp_path, "crosssite", timeout=240)
    assert f["after_pages"] == f["before"] and f["before"]["override"] == "auto", f
    assert len(f["pages_visited"]) == 2, f
    assert f["own_script_status"] == 200 and f["after_own_script"] == "off", f


def test_fd_flood_costs_no_frame(tmp_path: Path) -> None:
    """300 slow connections against a descriptor limit of 256: the endpoint takes only its share."""
    f = drill(tmp_path, "fdflood", "--connections", "300", "--seconds", "8", "--limit", "256")
    assert f["slow_connections_opened"] >= 280, f
    assert f["frames_received"] >= 40 and f["frames_lost"] <= 10, f  # at most the open last cluster
    assert f["recorder_errors"] == 0, f  # the endpoint itself may be slow meanwhile (docs/service.md)


def test_body_flood_is_refused_without_memory(tmp_path: Path) -> None:
    f = drill(tmp_path, "bodyflood", "--bodies", "4", "--mib", "20")
    assert set(f["answers"]) <= {413, "WriteError", "RemoteProtocolError", "ReadError"}, f
    assert 413 in f["answers"] and f["rss_peak_growth_mib"] < 30, f
