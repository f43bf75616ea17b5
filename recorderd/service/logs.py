"""Logging: readable lines on stderr (journald adds the time) or JSON lines; secrets masked."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]
_MASK = "***"


class SecretFilter(logging.Filter):
    """Masks every registered secret in the final message: a last line of defence, not the first."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secrets: Iterable[str | None]) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 3)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            masked = msg
            for s in self.secrets:
                masked = masked.replace(s, _MASK)
            if masked is not msg and masked != msg:
                record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("camera", "target", "incident"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


SECRETS = SecretFilter()


def setup_logging(level: str = "info", fmt: LogFormat = "text", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(SECRETS)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        # No timestamp: journald (and most terminals' scrollback) already has one.
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "hpack", "aioftp", "aiosmtplib", "hypercorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
