"""Log a recurring condition without flooding: at once the first time, then at most every `every`
seconds per key with a count of what was held back.

One camera that fails a thousand times a second must cost the log a line a minute, and the
logger's own memory must not grow with what a camera sends: keys are bounded (`max_keys`, the
least recently used key is forgotten first).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(slots=True)
class _Seen:
    last_at: float
    text: str
    held: int = 0


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        every: float = 60.0,
        max_keys: int = 256,  # bound: one entry per camera stream or consumer in practice
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.every = every
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[Hashable, _Seen] = OrderedDict()

    def log(self, key: Hashable, level: int, msg: str, *args: object, kind: str | None = None) -> bool:
        """Log `msg % args` now unless this key logged the same `kind` of condition (by default:
        the same text) within `every` seconds; then only count it. A new kind logs at once.
        Returns whether a line was written."""
        now = self._clock()
        text = msg % args if args else msg
        same = text if kind is None else kind
        seen = self._seen.get(key)
        if seen is not None and seen.text == same and now - seen.last_at < self.every:
            seen.held += 1
            self._seen.move_to_end(key)
            return False
        more = f" ({seen.held} more since)" if seen is not None and seen.held and seen.text == same else ""
        self.logger.log(level, "%s%s", text, more)
        self._seen[key] = _Seen(now, same)
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return True

    def active(self, key: Hashable) -> bool:
        """Whether the key has logged since it was last cleared."""
        return key in self._seen

    def clear(self, key: Hashable) -> bool:
        """Forget the key (the condition ended): its next occurrence logs at once. Returns whether
        it had logged."""
        return self._seen.pop(key, None) is not None
