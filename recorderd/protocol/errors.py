"""The single exception type raised by the protocol parsers."""

from recorderd.core.errors import RecorderdError


class ProtocolError(RecorderdError):
    """Input that cannot be parsed in any tolerant reading; the message never contains secrets."""
