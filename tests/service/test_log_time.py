"""Text log lines carry the local time, except where journald stamps them itself."""

from __future__ import annotations

import io
import logging
import os
import re
from datetime import datetime
from pathlib import Path

import pytest

from recorderd.service.logs import setup_logging

TIMED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d{3} INFO recorderd\.test: hello\n$")


def test_text_lines_have_the_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    out = io.StringIO()
    setup_logging("info", "text", out)
    before = datetime.now().replace(microsecond=0)
    logging.getLogger("recorderd.test").info("hello")
    m = TIMED.match(out.getvalue())
    assert m is not None, out.getvalue()
    assert abs((datetime.fromisoformat(m[1]) - before).total_seconds()) < 60  # local time, not UTC


def test_no_time_when_journald_stamps_the_stream(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with (tmp_path / "journal").open("w") as stream:
        st = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        setup_logging("info", "text", stream)
        logging.getLogger("recorderd.test").info("hello")
    assert (tmp_path / "journal").read_text() == "INFO recorderd.test: hello\n"


def test_journal_stream_of_another_file_keeps_the_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """JOURNAL_STREAM inherited by a child whose stderr went elsewhere (a shell, a file)."""
    other = os.stat(tmp_path)
    monkeypatch.setenv("JOURNAL_STREAM", f"{other.st_dev}:{other.st_ino}")
    with (tmp_path / "log").open("w") as stream:
        setup_logging("info", "text", stream)
        logging.getLogger("recorderd.test").info("hello")
    assert TIMED.match((tmp_path / "log").read_text())
