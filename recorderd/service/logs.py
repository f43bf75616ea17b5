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

    def mask(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            masked = self.mask(msg)
            if masked != msg:
                record.msg, record.args = masked, None
            if record.exc_info and not record.exc_text:
                # Formatters reuse exc_text once it is set, so the traceback is masked too.
                record.exc_text = self.mask(_PLAIN.formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = self.mask(record.stack_info)
        return True


_PLAIN = logging.Formatter()


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
        if record.exc_info or record.exc_text:
            out["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
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
