"""Incoming MQTT messages, the latest per topic.

What recorderd subscribes to are states (a camera's `armed/set` command, Home Assistant's status),
not events: when messages come faster than they are handled, only the latest on each topic
matters. So a burst never drops the last command (a FIFO that is full drops the newest, and the
camera ends in the wrong state); older messages on the same topic are superseded and counted.
Topics are bounded too (`max_topics`): a wildcard subscription must not let a peer grow memory
by inventing topics.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator

import trio

from recorderd.mqtt.driver import Message


class Inbox:
    def __init__(self, max_topics: int = 1024) -> None:
        self.max_topics = max_topics  # bound: distinct topics waiting to be handled
        self.superseded = 0  # messages replaced by a later one on their topic before being handled
        self.dropped = 0  # messages dropped because too many topics were waiting
        self._pending: OrderedDict[str, Message] = OrderedDict()
        self._wakeup = trio.Event()
        self._closed = False

    def put(self, msg: Message) -> None:
        if self._closed:
            return
        if msg.topic in self._pending:
            self.superseded += 1
            del self._pending[msg.topic]  # re-inserted at the end: the order of the latest arrivals
        elif len(self._pending) >= self.max_topics:
            self._pending.popitem(last=False)
            self.dropped += 1
        self._pending[msg.topic] = msg
        self._wakeup.set()

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            while self._pending:
                yield self._pending.popitem(last=False)[1]
            if self._closed:
                return
            self._wakeup = trio.Event()
            await self._wakeup.wait()
