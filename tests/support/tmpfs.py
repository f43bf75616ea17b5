"""A small real tmpfs for full-disk tests: a private mount namespace (`unshare -rm`), no root."""

from __future__ import annotations

import subprocess
from pathlib import Path


def cannot_mount(tmp: Path) -> str | None:
    """Why a tmpfs cannot be mounted on `tmp` here (user namespaces not allowed), or None."""
    r = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {tmp}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return None if r.returncode == 0 else (r.stderr.strip() or f"exit {r.returncode}")


def on_tmpfs(directory: Path, size: str, cmd: list[str]) -> list[str]:
    """`cmd` run with a tmpfs of `size` (e.g. "4m") mounted on `directory`, in its own namespace:
    the mount goes with the process."""
    return [
        "unshare",
        "-rm",
        "sh",
        "-c",
        f'mount -t tmpfs -o size={size} tmpfs "$0" && exec "$@"',
        str(directory),
        *cmd,
    ]
