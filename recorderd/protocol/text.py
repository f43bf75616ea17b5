"""Decoding camera text bodies: UTF-8 when valid, else latin-1 (never fails, never guesses further)."""


def decode_text(data: str | bytes) -> str:
    """Return `data` as text; bytes that are not UTF-8 are read as latin-1 (Axis names seen so)."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
