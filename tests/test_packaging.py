"""pyproject.toml: metadata setuptools takes without deprecation warnings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_license_is_an_spdx_expression_with_a_setuptools_that_reads_it() -> None:
    doc = tomllib.loads(PYPROJECT.read_text())
    # a table (`{ text = "MIT" }`) is deprecated; the string needs setuptools 77 (PEP 639)
    assert doc["project"]["license"] == "MIT"
    (setuptools,) = [r for r in doc["build-system"]["requires"] if r.startswith("setuptools")]
    m = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    assert m is not None and int(m[1]) >= 77
