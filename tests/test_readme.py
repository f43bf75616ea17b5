"""The README's set-up commands: they run as root without sudo and as a user with it, use the venv's
recorderd, point at nothing outside the clone, and .ci/run finds the test command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, re.S)


def setup_commands() -> list[str]:
    """The demo's and the tests' one-liners (the first two shell blocks)."""
    return [b.strip() for b in shell_blocks()[:2]]


def test_ci_reads_the_test_command() -> None:
    # as .ci/run does: the second line after the marker, its last `&&` step
    lines = README.splitlines()
    at = lines.index("<!-- test-command -->")
    assert lines[at + 1] == "```sh"
    assert lines[at + 2].split("&& ")[-1] == ".venv/bin/python -m pytest -q"
    assert lines[at + 2] == setup_commands()[1]


@pytest.mark.parametrize("with_sudo", [True, False], ids=["user with sudo", "root without sudo"])
def test_apt_steps_run_with_or_without_sudo(tmp_path: Path, with_sudo: bool) -> None:
    """The apt-get steps of both commands, with apt-get (and sudo) replaced by scripts that log."""
    log = tmp_path / "log"
    fake = tmp_path / "bin"
    fake.mkdir()
    names = ["apt-get", "sudo"] if with_sudo else ["apt-get"]
    for name in names:
        script = fake / name
        # sudo runs its arguments, as the real one does once the password is given
        run = 'exec "$@"' if name == "sudo" else ""
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n{run}\n')
        script.chmod(0o755)
    for cmd in setup_commands():
        apt = " && ".join(step for step in cmd.split(" && ") if "apt-get" in step)
        assert apt.count("apt-get") == 2
        # only the fake bin and what sh needs: no real sudo or apt-get can be found
        env = {"PATH": f"{fake}:/nonexistent", "HOME": str(tmp_path)}
        subprocess.run(["/bin/sh", "-c", apt], env=env, check=True)
    calls = log.read_text().splitlines()
    if with_sudo:
        assert calls[0] == "sudo apt-get update" and calls[1] == "apt-get update"
        assert calls[2].startswith("sudo apt-get install -y python3-venv mosquitto ffmpeg")
    else:
        assert calls[0] == "apt-get update"
        assert calls[1].startswith("apt-get install -y python3-venv mosquitto ffmpeg")
        assert not any(c.startswith("sudo") for c in calls)


def test_commands_use_the_venv_and_stay_in_the_clone() -> None:
    for cmd in setup_commands():
        assert not re.search(r"(^|&& )sudo ", cmd), cmd  # bare sudo: missing in root containers
        assert "python3 -m venv .venv && .venv/bin/pip install -e " in cmd
    assert setup_commands()[0].endswith(".venv/bin/recorderd demo")
    # prose outside the shell blocks and the command table: the venv's recorderd, never a bare one
    prose = re.sub(r"```.*?```", "", README, flags=re.S).split("## Commands")[0]
    for m in re.finditer(r"`([^`]*\brecorderd (?:recordings|events|run|check-config|demo)\b[^`]*)`", prose):
        assert m[1].startswith(".venv/bin/recorderd"), m[1]
    assert "../" not in README  # a clone has nothing above it
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target
