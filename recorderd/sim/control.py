"""The control API, for tests and the demo in another process: `/_sim/...` on each camera's port
(no auth) and, when configured, `/_sim/<camera>/...` on the simulator's control port.

    GET  /_sim/state                       triggers, position, faults, frame and stream counts (JSON)
    POST /_sim/trigger?name=motion&on=1    set a trigger -> {"trigger", "on", "mono", "wall", ...}
    GET  /_sim/controls                    relay/PTZ/decoder/settings calls the camera received
    GET  /_sim/requests                    every request: method, target, status, mono
    POST /_sim/faults?stall_after=0&...    switch faults (query or JSON body) -> the faults now
    POST /_sim/faults/clear                back to the configured faults
    GET  /_sim/frames[?stream=ID]          frame seqs sent whole (all video streams, or one)
    GET  /_sim/frame?seq=N                 the exact JPEG bytes sent as frame N
    GET  /_sim/cameras                     (control port) the --list entries with real ports
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from pydantic import ValidationError

from recorderd.sim.camera import SimCamera
from recorderd.sim.httpio import Request, head
from recorderd.sim.streams import Conn

_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}


def state(cam: SimCamera) -> dict[str, Any]:
    st = cam.state
    triggers: dict[str, bool] = {}
    for w, on in st.motion.items():
        triggers[f"motion:{w}"] = on
    triggers.update({f"input:{i + 1}": v for i, v in enumerate(st.inputs)})
    triggers.update({f"output:{i + 1}": v for i, v in enumerate(st.outputs)})
    triggers.update({k: v for k, v in st.flags.items()})
    return {
        **cam.describe(),
        "triggers": triggers,
        "ptz": {"pan": cam.pan, "tilt": cam.tilt, "zoom": cam.zoom, "preset": cam.preset},
        "faults": cam.faults.model_dump(),
        "seq": cam.seq,
        "frames_sent": cam.frames_sent,
        "streams": [
            {
                "id": s.id,
                "kind": s.kind,
                "path": s.path,
                "opened": s.opened,
                "closed": s.closed,
                "parts": s.parts,
            }
            for s in cam.streams
        ],
    }


def _faults_from(req: Request) -> dict[str, Any]:
    if req.body and "json" in req.headers.get("content-type", "json"):
        data = json.loads(req.body)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data
    out: dict[str, Any] = {}
    for k, v in req.query:
        out[k] = None if v.lower() in ("", "none", "null") else v
    return out


async def _json(conn: Conn, req: Request, value: Any, status: int = 200) -> None:
    body = json.dumps(value, indent=None).encode()
    hs = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    await conn.stream.send_all(head(status, hs) + body)  # not in the camera's request log


async def handle(cam: SimCamera, op: str, req: Request, conn: Conn) -> None:
    """One control request for `cam`; `op` is the path after `/_sim/` (and after the camera name)."""
    try:
        if op == "state":
            await _json(conn, req, state(cam))
        elif op == "trigger" and req.method == "POST":
            q = dict(req.query)
            on = q.get("on", "1").lower()
            if on not in _TRUE | _FALSE or "name" not in q:
                raise ValueError("expected name=<trigger>&on=1|0")
            effect = await cam.set_trigger(q["name"], on in _TRUE, source="http")
            await _json(conn, req, dataclasses.asdict(effect))
        elif op == "controls":
            await _json(conn, req, [dataclasses.asdict(c) for c in cam.controls])
        elif op == "requests":
            await _json(conn, req, [dataclasses.asdict(r) for r in cam.requests])
        elif op == "faults" and req.method == "POST":
            await _json(conn, req, cam.set_faults(**_faults_from(req)).model_dump())
        elif op == "faults/clear" and req.method == "POST":
            await _json(conn, req, cam.clear_faults().model_dump())
        elif op == "faults":
            await _json(conn, req, cam.faults.model_dump())
        elif op == "frames":
            stream = dict(req.query).get("stream")
            await _json(conn, req, cam.sent_seqs(int(stream) if stream else None))
        elif op == "frame":
            jpeg = cam.frame_bytes(int(dict(req.query).get("seq", "")))
            hs = [("Content-Type", "image/jpeg"), ("Content-Length", str(len(jpeg)))]
            await conn.stream.send_all(head(200, hs) + jpeg)
        else:
            await _json(conn, req, {"error": f"unknown control {req.method} /_sim/{op}"}, 404)
    except (ValueError, KeyError, ValidationError) as e:
        msg = (
            "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            if isinstance(e, ValidationError)
            else str(e)
        )
        await _json(conn, req, {"error": msg}, 400)
