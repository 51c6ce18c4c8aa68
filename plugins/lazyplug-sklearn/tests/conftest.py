"""Fixtures of lazyplug-sklearn's tests: the digits example loaded afresh, and a check that no test
leaves a process running. Isolation comes from lazyplug's own pytest plugin (``lazyplug_isolated``)."""

from __future__ import annotations

import importlib.util

import pytest
from sklearn_helpers import EXAMPLE


@pytest.fixture(autouse=True)
def nothing_left_running(lazyplug_no_processes_left):
    """Every test fails if it leaves a server behind (a fixture of lazyplug's pytest plugin)."""


@pytest.fixture
def digits(lazyplug_isolated):
    """examples/digits.py, imported afresh (its own registry, plugin manager and LAZYPLUG_HOME);
    whatever the test deployed is stopped after it."""
    spec = importlib.util.spec_from_file_location('digits_example', EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    try:
        yield example
    finally:
        example.app.stop()
