"""The single exception type raised by the protocol parsers."""


class ProtocolError(Exception):
    """Input that cannot be parsed in any tolerant reading; the message never contains secrets."""
