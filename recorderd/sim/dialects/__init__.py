"""Each dialect's CGIs: a table from path to handler, one module per dialect (named by the registry)."""

from __future__ import annotations

import functools
import importlib

from recorderd.dialects.registry import DIALECTS, Dialect
from recorderd.sim.dialects import move
from recorderd.sim.dialects.common import Handler, Routes


@functools.cache
def routes(dialect: str) -> Routes:
    module = importlib.import_module(DIALECTS[Dialect(dialect)].simulator)
    table: Routes = module.routes(dialect)
    return table


def find(dialect: str, path: str) -> Handler | None:
    return routes(dialect).get(path)


STREAM_PORT_HANDLER: Handler = move.video
