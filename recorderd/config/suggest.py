"""'did you mean ...' for an unknown key: the keys the model allows where the unknown one stands.

The error's location is walked down the model types: model fields, table values (`cameras.<name>`),
array items, and union members named by pydantic's tags (`targets.<name>.email`, `tls.MqttTls`).
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from recorderd.config.model import Config


def did_you_mean(loc: tuple[int | str, ...], root: type[BaseModel] = Config) -> str | None:
    """The allowed key closest to the unknown `loc[-1]`, if one is close enough."""
    if not loc or not isinstance(loc[-1], str):
        return None
    node: Any = root
    for key in loc[:-1]:
        node = _step(node, key)
        if node is None:
            return None
    keys = [k for t in _members(node) if _is_model(t) for k in _keys(t)]
    close = difflib.get_close_matches(loc[-1], keys, n=1, cutoff=0.6)
    return close[0] if close else None


def _members(node: Any) -> list[Any]:
    """The concrete types of an annotation: Annotated and unions unwrapped."""
    origin = get_origin(node)
    if origin is Annotated:
        return _members(get_args(node)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(node) for m in _members(arg)]
    return [node]


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _tag(model: type[BaseModel]) -> str | None:
    """The `kind` literal a discriminated member is tagged with (`email`, `ftp`, `http`)."""
    kind = model.model_fields.get("kind")
    if kind is not None and get_origin(kind.annotation) is Literal:
        return str(get_args(kind.annotation)[0])
    return None


def _step(node: Any, key: int | str) -> Any:
    for t in _members(node):
        if _is_model(t):
            if key in (t.__name__, _tag(t)):
                return t  # a union tag: the member itself
            for name, f in t.model_fields.items():
                if key in (name, f.alias):
                    return f.annotation
        elif get_origin(t) is dict and isinstance(key, str):
            return get_args(t)[1]
        elif get_origin(t) is list and isinstance(key, int):
            return get_args(t)[0]
    return None
