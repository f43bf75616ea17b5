"""The dialect registry: every entry complete, and the layers above find their part through it."""

from __future__ import annotations

import importlib

import pytest

from recorderd.config.model import CameraConfig
from recorderd.dialects.linkage import LinkUnsupported
from recorderd.dialects.registry import ALIASES, DIALECTS, Dialect, action_steps, lookup


def test_every_dialect_has_an_entry_with_a_driver_and_simulated_routes() -> None:
    assert set(DIALECTS) == set(Dialect)
    for d, spec in DIALECTS.items():
        assert spec.name is d and d.value in spec.aliases
        driver = importlib.import_module(spec.driver).DRIVER
        assert driver.dialect == d.value
        routes = importlib.import_module(spec.simulator).routes(d.value)
        assert routes, d
        if spec.paths.video:
            assert "/" + spec.paths.video in routes, (d, spec.paths.video)
        if spec.paths.snapshot:
            assert "/" + spec.paths.snapshot in routes, (d, spec.paths.snapshot)


def test_aliases_name_one_dialect_each_in_any_case() -> None:
    assert lookup(" Axis ").name is Dialect.VAPIX
    assert lookup("mobotix").name is Dialect.MOVE
    assert len(ALIASES) == sum(len(e.aliases) for e in DIALECTS.values())
    with pytest.raises(KeyError):
        lookup("hikvision")


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_the_config_takes_every_alias(alias: str) -> None:
    spec = lookup(alias)
    url = {spec.needs: "http://127.0.0.1:1/"}
    cam = CameraConfig.model_validate({"dialect": alias, **url}, context={"targets": set()})
    assert cam.dialect is spec.name


def test_linkage_comes_from_the_entry() -> None:
    assert action_steps("vapix", "output:1")
    with pytest.raises(LinkUnsupported, match="no output relay"):
        action_steps("mjpeg", "output:1")
    with pytest.raises(LinkUnsupported, match="no PTZ preset"):
        action_steps("mjpeg", "preset:1")
    with pytest.raises(LinkUnsupported, match="not a linkage action"):
        action_steps("vapix", "output:x")
