"""Reading a config file into a Config, with every problem reported at once as `file: key.path: what`."""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from recorderd.config.model import Config
from recorderd.config.suggest import did_you_mean
from recorderd.core.errors import RecorderdError

DEFAULT_PATH = Path("/etc/recorderd/recorderd.toml")
ENV_VAR = "RECORDERD_CONFIG"
_SECRET_KEYS = ("password", "token", "secret")
_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
# "scheme://user:pass@host": everything from :// to the last @ before a blank (a password may hold
# "@" or "/"); hiding a little too much of an odd URL beats showing a password
_USERINFO = re.compile(r"(?<=://)\S*@")


class ConfigError(RecorderdError):
    """A config that cannot be used; `messages` holds one line per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"config file (default: ${ENV_VAR} or {DEFAULT_PATH})",
    )


def config_path(arg: Path | None) -> Path:
    if arg is not None:
        return arg
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_PATH


def load_config(path: Path) -> Config:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError([f"{path}: cannot read: {e.strerror or e}"]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"{path}: not UTF-8 text (byte {e.start})"]) from None
    return parse_config(text, name=str(path), base_dir=path.parent)


def parse_config(text: str, *, name: str = "recorderd.toml", base_dir: Path | None = None) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _AT_LINE.search(msg)
        where = f":{m.group(1)}:{m.group(2)}" if m else ""
        raise ConfigError([f"{name}{where}: syntax error: {_AT_LINE.sub('', msg)}"]) from None
    _resolve_paths(raw, base_dir or Path.cwd())
    targets = raw.get("targets")
    context = {
        "targets": set(targets) if isinstance(targets, dict) else set(),
        "mqtt": "mqtt" in raw,
    }
    try:
        return Config.model_validate(raw, context=context)
    except ValidationError as e:
        raise ConfigError(format_errors(name, raw, e.errors(), Config)) from None


def _resolve_paths(node: Any, base: Path) -> None:
    """Relative *_file paths are relative to the config file, not to wherever the daemon started."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str) and k.endswith("_file") and v and not os.path.isabs(v):
                node[k] = str(base / v)
            else:
                _resolve_paths(v, base)
    elif isinstance(node, list):
        for v in node:
            _resolve_paths(v, base)


def format_errors(
    name: str, raw: Any, errors: list[ErrorDetails], root: type[BaseModel] | None = None
) -> list[str]:
    """One line per key path; union alternatives on the same key merge into one line. With the
    `root` model, an unknown key gets the allowed one closest to it ("did you mean")."""
    by_path: dict[str, list[str]] = {}
    for err in errors:
        path, value, present = _data_path(raw, err["loc"])
        msg = strip_userinfo(_message(err, path, value, present))
        if err["type"] == "extra_forbidden" and root is not None:
            hint = did_you_mean(err["loc"], root)
            msg += f' (did you mean "{hint}"?)' if hint else ""
        msgs = by_path.setdefault(".".join(path) or "(top level)", [])
        if msg not in msgs:
            msgs.append(msg)
    return [f"{name}: {path}: {_merge(msgs)}" for path, msgs in by_path.items()]


def strip_userinfo(text: str) -> str:
    """Credentials in URL-like values (`rtsp://admin:pw@cam/` -> `rtsp://cam/`) never reach a message."""
    return _USERINFO.sub("", text)


def _merge(msgs: list[str]) -> str:
    """'expected a string, got 5' + 'expected a table, got 5' -> 'expected a string or a table, got 5'."""
    tails = {m.rpartition(", got ")[2] for m in msgs}
    if len(msgs) > 1 and len(tails) == 1 and all(", got " in m for m in msgs):
        heads = [m.rpartition(", got ")[0].removeprefix("expected ") for m in msgs]
        return f"expected {' or '.join(heads)}, got {tails.pop()}"
    return " or ".join(msgs)


def _data_path(raw: Any, loc: tuple[int | str, ...]) -> tuple[list[str], Any, bool]:
    """Keep the loc elements that exist in the data; the others are pydantic's union tags."""
    path: list[str] = []
    node: Any = raw
    present = True
    for i, key in enumerate(loc):
        found, child = _child(node, key)
        if found:
            node = child
            path.append(str(key))
        elif i == len(loc) - 1 and isinstance(key, str) and not _is_tag(key):
            path.append(key)  # a missing key: named, though not in the data
            present = False
    return path, node, present


def _child(node: Any, key: int | str) -> tuple[bool, Any]:
    if isinstance(node, dict) and key in node:
        return True, node[key]
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return True, node[key]
    return False, None


def _is_tag(key: str) -> bool:
    return (
        key.startswith("@")
        or key[:1].isupper()
        or "[" in key
        or key in ("str", "int", "bool", "email", "ftp", "http")
    )


def _shown(path: list[str], value: Any) -> str:
    if any(s in p for p in path for s in _SECRET_KEYS):
        return "(hidden)"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


_EXPECTED = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected an array",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
}


def _message(err: ErrorDetails, path: list[str], value: Any, present: bool) -> str:
    kind = err["type"]
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {_shown(path, value)}"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"expected {expected}, got {_shown(path, value)}"
    if kind == "string_pattern_mismatch":
        if path and path[-1].endswith("url"):
            return f"expected an http:// or https:// URL, got {_shown(path, value)}"
        return f"not a valid value: {_shown(path, value)}"
    if kind == "union_tag_invalid":
        expected = err.get("ctx", {}).get("expected_tags", "")
        tag = err.get("ctx", {}).get("tag", "")
        return f'unknown kind "{tag}" (expected {expected})'
    if kind == "union_tag_not_found":
        return "missing kind (required)"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{err['msg'].replace('Input should be', 'expected a value')}, got {_shown(path, value)}"
    if kind == "too_short":
        return f"expected at least {err.get('ctx', {}).get('min_length', 1)} item(s), got none"
    if kind == "too_long":
        return f"expected at most {err.get('ctx', {}).get('max_length', 0)} item(s)"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg
