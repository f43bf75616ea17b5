"""The text each dialect's CGIs send, as the documents print it (pure functions over values).

IPCamCGI frame header and iocontrol.cgi, Open API/VAPIX motion levels and IO monitor lines, MOBOTIX MOVE
eventdata lines, Foscam CGI JavaScript variables and parameter lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from recorderd.sim.config import DateFormat


def ipcam_date(
    dt: datetime,
    bits: Sequence[bool],
    pan: int,
    tilt: int,
    fmt: DateFormat = "iso",
    digits: Literal[7, 8] = 8,
) -> str:
    """IPCamCGI: `2008-10-01 10:39:46 IO_00000000_PT_120_045`; real D-Link: `11-17-2016 04:03:05 PM ...`."""
    when = dt.strftime("%m-%d-%Y %I:%M:%S %p" if fmt == "dlink" else "%Y-%m-%d %H:%M:%S")
    io = "".join("1" if b else "0" for b in bits[:digits]).ljust(digits, "0")
    return f"{when} IO_{io}_PT_{pan:03d}_{tilt:03d}"


def ipcam_iocontrol(bits: Sequence[bool], dt: datetime) -> str:
    """IPCamCGI §5.1.1: the Trigger/FTP upload/e-mail status."""
    names = ("Trigger1", "Trigger2", "ImageUpload", "ImageEmail")
    pairs = [f"{n}={int(b)}" for n, b in zip(names, bits, strict=False)]
    return "&".join([*pairs, f"CurrentTime={dt:%Y-%m-%d %H:%M:%S}"])


def kv_lines(pairs: Iterable[tuple[str, object]], nl: str = "\r\n") -> str:
    """`<parameter>=<value>` lines (IPCamCGI §2.2, parameter lists)."""
    return "".join(f"{k}={v}{nl}" for k, v in pairs)


def mdb_lines(windows: Iterable[tuple[int, int, int]]) -> str:
    """Open API/VAPIX motion levels: `group=0;level=28;threshold=45;` per window."""
    return "".join(f"group={g};level={lv};threshold={th};\r\n" for g, lv, th in windows)


def io_line(port0: int, active: bool, edge: bool, bare_lf: bool = False) -> str:
    """Open API/VAPIX IO monitor: `/` and `\\` when a port has just changed, `H` and `L` while steady.

    Ports are numbered from 0 in the lines (`monitor=1` answers `IO0:...`, as in the example).
    """
    char = ("/" if active else "\\") if edge else ("H" if active else "L")
    return f"IO{port0}:{char}" + ("\n" if bare_lf else "\r\n")


def move_motion(
    window: int, enabled: bool, level: int, sensitivity: int, triggered: bool, fields: Sequence[str]
) -> str:
    """MOBOTIX MOVE: `Motion:Enabled=1;Level=15;Sensitivity=80;Triggered=0;` (window 0 is `Motion`)."""
    name = "Motion" if window == 0 else f"Motion{window}"
    if not enabled:
        return f"{name}:Enabled=0;"
    values = {"Enabled": 1, "Level": level, "Sensitivity": sensitivity, "Triggered": int(triggered)}
    return f"{name}:" + "".join(f"{k}={values[k]};" for k in values if k in fields)


def move_io_status(inputs: Sequence[bool], outputs: Sequence[bool]) -> str:
    """MOBOTIX MOVE IO:Status, seven hex bytes: inputs enabled, input states, output states, input NO/NC,
    output active setting, inputs active, outputs active (bit 0 = port 1)."""

    def mask(bits: Iterable[bool]) -> int:
        return sum(1 << i for i, b in enumerate(bits) if b)

    ins, outs = mask(inputs), mask(outputs)
    all_in = (1 << len(inputs)) - 1
    all_out = (1 << len(outputs)) - 1
    # inputs normally open: an active input is closed; outputs are active when closed
    return "IO:Status=" + "".join(f"{b:02x}" for b in (all_in, ins, outs, 0, all_out, ins, outs)) + ";"


def move_tamper(enabled: bool, triggered: bool) -> str:
    return f"T0:Enabled={int(enabled)};Triggered={int(triggered)};" if enabled else "T0:Enabled=0;"


def move_face(triggered: bool) -> str:
    faces = "1 0.40_0.30_0.20_0.30" if triggered else "0"
    return f"Face:Enabled=1;H264_Face={faces};H264_2_Face={faces};"


def js_vars(
    pairs: Iterable[tuple[str, int | str]], *, double: bool = False, crlf: bool = False, no_var: bool = False
) -> str:
    """Foscam CGI `var name='value';` lines (numbers bare), with the real-world variations."""
    q = '"' if double else "'"
    nl = "\r\n" if crlf else "\n"
    prefix = "" if no_var else "var "
    out = []
    for k, v in pairs:
        shown = str(v) if isinstance(v, int) else q + v.replace("\\", "\\\\").replace(q, "\\" + q) + q
        out.append(f"{prefix}{k}={shown};{nl}")
    return "".join(out)


def signed32(word: int) -> int:
    word &= 0xFFFFFFFF
    return word - (1 << 32) if word & 0x80000000 else word


def param_list(
    params: Mapping[str, str],
    names: Iterable[str],
    *,
    root: bool = False,
    nl: str = "\n",
    trailing_spaces: bool = False,
) -> str:
    pre = "root." if root else ""
    tail = "  " if trailing_spaces else ""
    return "".join(f"{pre}{n}={params[n]}{tail}{nl}" for n in names)
