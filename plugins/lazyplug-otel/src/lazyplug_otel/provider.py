"""The tracer provider the plugin makes when the application has set none.

The standard variables apply: ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (the service
is ``lazyplug`` by default), ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``, ``OTEL_TRACES_EXPORTER`` and the
OTLP exporters' own (see :func:`exporter_names`). The SDK flushes it at exit, and so does a
program that SIGTERM ends (see :func:`flush_on_sigterm`).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from lazyplug.errors import ConfigError

__all__ = ['exporter_names', 'flush_on_sigterm', 'make_provider']


def make_provider() -> Any:
    """A tracer provider as the ``OTEL_*`` variables describe it, exporting to the chosen exporters."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    resource = Resource.create({'process.pid': os.getpid()})
    if str(resource.attributes.get(SERVICE_NAME, '')).startswith('unknown_service'):  # none set in the environment
        resource = resource.merge(Resource({SERVICE_NAME: 'lazyplug'}))
    provider = TracerProvider(resource=resource)
    for exporter in _exporters():
        provider.add_span_processor(BatchSpanProcessor(exporter, **_batching()))
    return provider


def flush_on_sigterm(provider: Any, timeout_millis: int = 5_000) -> None:
    """Have SIGTERM flush ``provider`` (waiting at most ``timeout_millis``) before it ends the program.

    Only where SIGTERM has its default handler, which ends a program without its ``atexit``
    handlers (so without the SDK's flush): the program still ends by the signal, with the same
    status. A handler the program (or a server) has set is left as it is. Signal handlers are set
    from the main thread only: made in another, the provider is flushed at exit alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def flush_then_end(signum: int, frame: Any) -> None:
        try:
            provider.force_flush(timeout_millis)
        finally:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, flush_then_end)


def _batching() -> dict[str, Any]:
    """Larger batches than OpenTelemetry's defaults (512 of at most 2048 queued), unless the
    OTEL_BSP_* variables say otherwise.

    A program that calls modules in a tight loop makes spans faster than a batch of 512 is
    written while it holds the GIL: the queue overflows and spans are dropped. Batches of 2048
    (8192 queued, a few megabytes) keep up with it.
    """
    sizes: dict[str, Any] = {}
    if 'OTEL_BSP_MAX_QUEUE_SIZE' not in os.environ:
        sizes['max_queue_size'] = 8192
    if 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE' not in os.environ:
        queue = os.environ.get('OTEL_BSP_MAX_QUEUE_SIZE', '8192')
        if queue.strip().isdigit():  # a bad value is the SDK's to report
            sizes['max_export_batch_size'] = max(1, min(2048, int(queue)))
    return sizes


def exporter_names() -> list[str]:
    """The exporters the plugin's provider sends spans to.

    ``OTEL_TRACES_EXPORTER`` names them (comma-separated): ``lazyplug`` (the local backend),
    ``otlp`` (over the protocol ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` or
    ``OTEL_EXPORTER_OTLP_PROTOCOL`` names: ``http/protobuf``, the default, or ``grpc``),
    ``console``, ``none``, or any other exporter installed under OpenTelemetry's entry points.
    Unset: the local backend, and OTLP too when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set.
    """
    named = os.environ.get('OTEL_TRACES_EXPORTER')
    if named is None:
        endpoint = os.environ.get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') or os.environ.get('OTEL_EXPORTER_OTLP_ENDPOINT')
        return ['lazyplug', 'otlp'] if endpoint else ['lazyplug']
    return [name for name in (part.strip() for part in named.split(',')) if name and name != 'none']


def _exporters() -> list[Any]:
    from importlib.metadata import entry_points
    found = {e.name: e for e in entry_points(group='opentelemetry_traces_exporter')}
    made = []
    for name in exporter_names():
        if name == 'otlp':
            protocol = (os.environ.get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
                        or os.environ.get('OTEL_EXPORTER_OTLP_PROTOCOL') or 'http/protobuf').strip()
            if protocol not in ('http/protobuf', 'grpc'):
                raise ConfigError(f'the OTLP protocol {protocol!r} (OTEL_EXPORTER_OTLP_PROTOCOL) is not supported: '
                                  "use 'http/protobuf' or 'grpc'")
            name = 'otlp_proto_grpc' if protocol == 'grpc' else 'otlp_proto_http'
            if name not in found:
                raise ConfigError(f'OTLP over {protocol} needs its exporter: pip install lazyplug-otel[grpc]')
        if name not in found:
            raise ConfigError(f'OTEL_TRACES_EXPORTER names the exporter {name!r}, which is not installed; '
                              f'installed: lazyplug, otlp, none, {", ".join(sorted(set(found) - {"lazyplug"}))}')
        made.append(found[name].load()())
    return made
