"""Small words for what recorderd prints."""

from __future__ import annotations


def plural(n: int, word: str) -> str:
    """'1 camera', '0 cameras', '2 cameras' (words that take an s)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
