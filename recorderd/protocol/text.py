"""Decoding camera text bodies: UTF-8 when valid, else latin-1 (never fails, never guesses further)."""

import re

# CRLF, CR or LF only: str.splitlines also breaks at \x85, \x1c-\x1e and U+2028, which a latin-1
# body holds as ordinary characters (0x85 is the ellipsis of Windows-1252)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def decode_text(data: str | bytes) -> str:
    """Return `data` as text; bytes that are not UTF-8 are read as latin-1 (Axis names seen so)."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def text_lines(data: str | bytes) -> list[str]:
    """The lines of a camera's text body (decode_text), split at CRLF, CR and LF only."""
    return _LINE_BREAK.split(decode_text(data))
