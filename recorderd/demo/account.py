"""The demo's live account on stdout: one short line per thing that happened, and the closing summary.

Formatting only (the runner feeds it); times are seconds since the demo started, read from `clock`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO

from recorderd.core import events as ev
from recorderd.core.text import plural
from recorderd.recording.index import RecordingRow

# the account's second column: what a line is about
LineKind = Literal["stopping", "connected", "lost", "incident", "recording", "file", "mqtt", "action"]


@dataclass
class Tally:
    connected: set[str] = field(default_factory=set)
    incidents: int = 0
    files: list[RecordingRow] = field(default_factory=list)
    mqtt: int = 0
    relay: int = 0


def size_text(n: int) -> str:
    if n >= 1024**2:
        return f"{n / 1024**2:.1f} MiB"
    return f"{n / 1024:.0f} KiB"


def short_id(incident: str) -> str:
    """The random tail of an incident id ("<camera>-<time>-<hex>"): enough to match lines up."""
    return incident.rsplit("-", 1)[-1]


def mqtt_text(topic: str, payload: bytes) -> str:
    """A message, shortly: JSON events by their meaning, JPEGs by their size, the rest as text."""
    if topic.endswith("/snapshot"):
        return f"JPEG snapshot, {size_text(len(payload))}"
    if topic.endswith("/events"):
        try:
            e = json.loads(payload)
            return f"event {e['type']} {e['trigger']} #{short_id(str(e['id']))}"
        except (ValueError, KeyError, TypeError):
            pass
    text = payload.decode("utf-8", "replace")
    return text if len(text) <= 60 else text[:57] + "..."


class Account:
    def __init__(self, out: TextIO, clock: Callable[[], float], root: Path) -> None:
        self.out = out
        self.clock = clock
        self.t0 = clock()
        self.root = root  # the state dir: paths are shown relative to it
        self.tally = Tally()
        self._starts: dict[str, datetime] = {}
        self.is_stopping = False

    def elapsed(self) -> float:
        return self.clock() - self.t0

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def line(self, kind: LineKind, who: str, text: str) -> None:
        self.say(f"{self.elapsed():6.1f}s  {kind:<10} {who:<9} {text}".rstrip())

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    # -- what happened ---------------------------------------------------------------------

    def stopping(self) -> None:
        self.is_stopping = True
        self.line("stopping", "", "closing the open files ...")

    def connected(self, e: ev.Connected) -> None:
        if e.connected:
            self.tally.connected.add(e.camera)
        elif self.is_stopping:
            return  # the streams we are closing: not news
        self.line("connected" if e.connected else "lost", e.camera, "" if e.connected else "a stream is down")

    def incident(self, e: ev.IncidentEvent) -> None:
        if e.type == "start":
            self.tally.incidents += 1
            self._starts[e.id] = e.time
            self.line("incident", e.camera, f"start  {e.trigger}  #{short_id(e.id)}")
            return
        start = self._starts.pop(e.id, None)
        took = f" after {(e.time - start).total_seconds():.1f} s" if start else ""
        why = "" if e.reason in ("", "ended") else f" ({e.reason})"
        self.line("incident", e.camera, f"end    {e.trigger}  #{short_id(e.id)}{took}{why}")

    def recording(self, row: RecordingRow) -> None:
        self.line("recording", row.camera, f"{row.reason} -> {self.rel(row.path)}")

    def file(self, row: RecordingRow) -> None:
        self.tally.files.append(row)
        secs = (row.end - row.start).total_seconds() if row.end else 0.0
        cut = "" if row.complete else ", cut short"
        self.line(
            "file",
            row.camera,
            f"{self.rel(row.path)}  {secs:.1f} s, {row.frames} frames, {size_text(row.bytes)}{cut}",
        )

    def mqtt(self, topic: str, payload: bytes) -> None:
        self.tally.mqtt += 1
        self.line("mqtt", topic, mqtt_text(topic, payload))

    def relay(self, camera: str, output: str) -> None:
        self.tally.relay += 1
        self.line("action", camera, f"the camera's relay {output} switched on (linkage action)")

    # -- the end -------------------------------------------------------------------------------

    def summary(self, config: Path, *, mqtt: bool, why: str) -> None:
        t = self.tally
        files = t.files
        parts = [
            f"{plural(len(t.connected), 'camera')} connected",
            plural(t.incidents, "incident"),
            f"{plural(len(files), 'file')} ({size_text(sum(f.bytes for f in files))})",
        ]
        if mqtt:
            parts.append(plural(t.mqtt, "MQTT message"))
        parts.append(plural(t.relay, "relay action"))
        self.say()
        self.say(f"Stopped ({why}) after {self.elapsed():.1f} s: {', '.join(parts)}.")
        self.say(f"Recordings are under {self.root / 'recordings'}/<camera>/<date>/.")
        pick = play_pick(files)
        if pick is not None:
            self.say(f"Play one:     {player()} {shlex.quote(str(pick.path))}")
        cmd = recorderd_command()
        self.say(f"List them:    {cmd} recordings list -c {shlex.quote(str(config))}")
        self.say(f"Incidents:    {cmd} events -c {shlex.quote(str(config))}")


def play_pick(files: list[RecordingRow]) -> RecordingRow | None:
    """An event clip with audio if there is one, else any event clip, else any file."""
    if not files:
        return None
    events = [f for f in files if f.reason != "continuous"]
    for f in events:
        if f.camera == "vapix":
            return f
    return (events or files)[0]


def player() -> str:
    for name in ("ffplay", "mpv", "vlc"):
        if shutil.which(name):
            return name
    return "ffplay"  # apt-get install ffmpeg (or mpv)


def recorderd_command() -> str:
    """How this user runs recorderd: `recorderd` if on PATH, the script as called, or python -m."""
    if shutil.which("recorderd"):
        return "recorderd"
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "recorderd" and os.access(argv0, os.X_OK):
        return shlex.quote(str(argv0))
    return f"{shlex.quote(sys.executable)} -m recorderd"
