"""The OpenTelemetry span exporter of the local backend (``OTEL_TRACES_EXPORTER=lazyplug``)."""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from lazyplug.errors import LazyplugError
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .store import Row, TraceStore

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opentelemetry.sdk.trace import ReadableSpan

__all__ = ['LocalSpanExporter', 'stored']

_log = logging.getLogger(__name__)


class LocalSpanExporter(SpanExporter):
    """Writes spans into a :class:`~lazyplug_otel.store.TraceStore` (default: the ``otel_store`` setting)."""

    def __init__(self, path: str | None = None) -> None:
        self.store = TraceStore(path)
        self._stopped = False
        self._resources: dict[int, tuple[Any, str, int | None]] = {}  # id of a resource: it, its service, its pid

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._stopped:
            return SpanExportResult.FAILURE
        try:
            resources = self._resources
            self.store.write([stored(span, resources) for span in spans])
        except (sqlite3.Error, OSError, LazyplugError) as exc:
            _log.warning('lazyplug-otel: %d spans could not be stored in %s: %s', len(spans), self.store.path, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._stopped = True
        self.store.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # export() has written before it returns


def stored(span: ReadableSpan, resources: dict[int, tuple[Any, str, int | None]] | None = None) -> Row:
    """What the store keeps of an OpenTelemetry span that has ended, as a row.

    ``resources`` keeps what each resource says (service name, process id) for the next spans.
    """
    context, parent, status = span.context, span.parent, span.status
    assert context is not None
    resource = span.resource
    known = resources.get(id(resource)) if resources is not None else None
    if known is None or known[0] is not resource:
        pid = resource.attributes.get('process.pid')
        known = (resource, str(resource.attributes.get('service.name', '')), pid if isinstance(pid, int) else None)
        if resources is not None:
            resources[id(resource)] = known
    said = known[1:]
    events = span.events
    found: Any = span.attributes  # a read-only view of the SDK's attributes, whose copy() is a dict made in C
    attributes = found.copy() if found else {}
    return [f'{context.trace_id:032x}', f'{context.span_id:016x}',
            None if parent is None else f'{parent.span_id:016x}', span.name, span.kind.name,
            span.start_time or 0, span.end_time or 0, status.status_code.name, status.description or '',
            attributes if type(attributes) is dict else dict(attributes),
            [_event(e) for e in events] if events else [], *said]


def _event(event: Any) -> dict[str, Any]:
    return {'name': event.name, 'time_ns': event.timestamp, 'attributes': dict(event.attributes or {})}
