#!/usr/bin/env python3
"""Screenshots of every page of the web UI for docs/webui/ (and the README), taken in Debian's
chromium against the daemon recording from the simulator:

    python bench/shoot_webui.py            # writes docs/webui/*.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.support.webharness import DaemonThread, launch

OUT = Path(__file__).resolve().parents[1] / "docs" / "webui"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="shoot-webui-"))
    common = {"fps": 10, "width": 640, "height": 480, "quality": 70}
    sims = {
        "front-door": {"dialect": "vapix", "audio": "mulaw", **common},
        "garage": {"dialect": "openapi", "audio": "mulaw", **common},
        "yard": {"dialect": "foscam", **common},
    }
    record = {"mode": "continuous", "segment": "10s"}
    cams = {
        "front-door": {"triggers": ["motion", "input:1"], "audio": True, "record": record},
        "garage": {
            "triggers": ["motion"],
            "audio": True,
            "record": {"mode": "event", "pre": "3s", "post": "3s"},
        },
        "yard": {"triggers": ["motion"], "record": record, "armed": "off"},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    with DaemonThread(tmp, sims, cams, token="docs") as d, sync_playwright() as pw:
        for name, trigger in (("front-door", "motion"), ("garage", "motion"), ("front-door", "input:1")):
            d.run(d.sim[name].set_trigger, trigger, True)
            time.sleep(2.5)
            d.run(d.sim[name].set_trigger, trigger, False)
            time.sleep(1.0)
        time.sleep(6)
        browser = launch(pw, tmp / "profile", 1280, 820)
        page = browser.new_page()
        page.goto(d.url + "/ui/login")
        page.screenshot(path=str(OUT / "login.png"))
        page.fill("#token", "docs")
        page.press("#token", "Enter")
        page.wait_for_selector("article.camera")
        time.sleep(3)
        page.screenshot(path=str(OUT / "cameras.png"))
        page.goto(d.url + "/ui/#/events")
        page.wait_for_selector("table.events tbody tr")
        page.screenshot(path=str(OUT / "events.png"))
        page.goto(d.url + "/ui/#/timeline")
        page.wait_for_selector(".track .inc")
        page.select_option("select[aria-label=zoom]", label="10 min")
        page.screenshot(path=str(OUT / "timeline.png"))
        page.goto(d.url + "/ui/#/events")
        page.click("table.events tbody tr:last-child >> text=Play")
        page.wait_for_selector("canvas#frame[data-frame]")
        page.click("#play")
        time.sleep(2)
        page.click("#play")
        page.screenshot(path=str(OUT / "player.png"))
        phone = browser.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(d.url + "/ui/#/cameras")
        phone.wait_for_selector("article.camera")
        time.sleep(2)
        phone.screenshot(path=str(OUT / "phone-cameras.png"))
        browser.close()
    print("screenshots in", OUT)


if __name__ == "__main__":
    main()
