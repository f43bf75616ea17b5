"""The single exception type raised by the protocol parsers, and its partial-answer form."""

from __future__ import annotations

from typing import Generic, TypeVar

from recorderd.core.errors import RecorderdError

T = TypeVar("T")


class ProtocolError(RecorderdError):
    """Input that cannot be parsed in any tolerant reading; the message never contains secrets."""


class PartlyRead(ProtocolError, Generic[T]):
    """Some values of an answer could not be read; `result` is the answer without them.

    A camera that garbles one input's state must not cost the others: parsers read every value
    they can, then raise this (a ProtocolError, so a caller that wants all or nothing still gets
    an error) with what they read. The message names the first bad value and how many followed.
    """

    def __init__(self, problems: list[str], result: T) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)
        self.problems = problems
        self.result = result
