"""Fixtures of lazyplug-otel's tests.

The spans of this test process go to OpenTelemetry's in-memory exporter: its tracer provider is
set here, before the first span, and the plugin uses it as it uses any application's. Programs
the tests start in other processes use the plugin's own provider (the local backend, OTLP).
"""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXPORTER = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(_provider)


class Recorded:
    """The spans that ended during a test, and how they nest."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self._exporter = exporter

    @property
    def all(self) -> list:
        return sorted(self._exporter.get_finished_spans(), key=lambda s: s.start_time)

    def named(self, name: str) -> list:
        return [span for span in self.all if span.name == name]

    def one(self, name: str):
        found = self.named(name)
        assert len(found) == 1, f'{len(found)} spans named {name!r}: {[s.name for s in self.all]}'
        return found[0]

    def children(self, span) -> list:
        return [s for s in self.all if s.parent is not None and s.parent.span_id == span.context.span_id]

    def tree(self, span) -> tuple:
        """``(name, [subtrees])`` of ``span``, children in start order."""
        return span.name, [self.tree(kid) for kid in self.children(span)]

    def roots(self) -> list:
        return [s for s in self.all if s.parent is None]


@pytest.fixture(autouse=True)
def nothing_left_running(lazyplug_no_processes_left):
    """Every test fails if it leaves a server behind (a fixture of lazyplug's pytest plugin)."""


@pytest.fixture
def spans(lazyplug_isolated):
    """The spans this test ends (in memory), with a private lazyplug home, registry and plugin manager."""
    EXPORTER.clear()
    return Recorded(EXPORTER)
