"""Validate `.eaf` files against ELAN's own EAF 3.0 schema (tests/data/EAFv3.0.xsd)."""

from __future__ import annotations

import functools
from pathlib import Path

import xmlschema

from tests.support.paths import TEST_DATA

SCHEMA_PATH = TEST_DATA / "EAFv3.0.xsd"


@functools.cache
def eaf_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA_PATH)


def assert_valid_eaf(path: Path) -> None:
    """Fails with the schema's own message (element, attribute, why) for an invalid file."""
    errors = list(eaf_schema().iter_errors(str(path)))
    assert not errors, f"{path.name} is not valid EAF 3.0: {errors[0]}"
