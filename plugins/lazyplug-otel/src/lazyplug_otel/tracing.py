"""The tracer, and what the spans say.

The tracer is made on the first span, not when the plugin loads (OpenTelemetry's SDK takes about
70 ms to import, and every lazyplug program loads the plugins):

* When the application has set a tracer provider already (``opentelemetry.trace.set_tracer_provider``),
  the spans go to it, as it is configured.
* Otherwise the plugin makes one (:mod:`lazyplug_otel.provider`) and sets it as the global
  provider, so that other instrumentation (of an HTTP library, say) joins the same traces.

A call's input and output are recorded as ``input.value`` and ``output.value`` (the names
Phoenix, Langfuse and other OpenInference readers show): a lone string argument as it is,
anything else as its ``repr`` (containers of more than 100 items abbreviated), cut to
``otel_max_length`` characters. The ``otel_capture`` setting turns that off.
"""

from __future__ import annotations

import reprlib
import threading
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from lazyplug import config

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

__all__ = ['call_text', 'extract', 'failed', 'flow_attributes', 'flush', 'in_span', 'module_attributes', 'text',
           'title', 'tracer']

_tracer: Tracer | None = None
_lock = threading.Lock()
_api: Any = None  # what the hot path uses of OpenTelemetry, imported with the tracer (see _load)


def tracer() -> Tracer:
    """The tracer of lazyplug's spans, made on first use."""
    return _tracer or _make_tracer()


def _make_tracer() -> Tracer:
    global _tracer
    with _lock:
        if _tracer is None:
            from opentelemetry import trace

            from . import __version__
            provider = trace.get_tracer_provider()
            if isinstance(provider, trace.ProxyTracerProvider):  # nobody has set one: make it
                from .provider import flush_on_sigterm, make_provider
                provider = make_provider()
                trace.set_tracer_provider(provider)
                flush_on_sigterm(provider)
            _load()
            _tracer = provider.get_tracer('lazyplug_otel', __version__)
    return _tracer


def _load() -> None:
    global _api
    from opentelemetry import context, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    # what the hot path uses, on one object: one attribute lookup each, no import machinery
    _api = SimpleNamespace(attach=context.attach, detach=context.detach, in_context=trace.set_span_in_context,
                           inject=propagate.inject, extract=propagate.extract, internal=SpanKind.INTERNAL,
                           client=SpanKind.CLIENT, server=SpanKind.SERVER, error=StatusCode.ERROR, status=Status)


def flush(timeout_millis: int = 30_000) -> bool:
    """Export every span ended so far, waiting at most ``timeout_millis``; whether all were exported.

    Spans are exported in batches, and at exit. A program that ends with ``os._exit`` (or is
    killed) calls this first. Nothing to flush (no span yet, or another tracer provider) is ``True``.
    """
    if _tracer is None:
        return True
    from opentelemetry import trace
    force_flush = getattr(trace.get_tracer_provider(), 'force_flush', None)
    return True if force_flush is None else bool(force_flush(timeout_millis))


# -- spans ----------------------------------------------------------------------------------------

def in_span(name: str, attributes: dict[str, Any], args: tuple[Any, ...] | None = None,
            kwargs: dict[str, Any] | None = None, kind: str = 'internal', parent: Context | None = None,
            carrier: dict[str, str] | None = None) -> Generator[None, Any, Any]:
    """The body of a hook wrapper: run what it wraps (``yield``) in a span, current meanwhile.

    * With ``args`` (and ``kwargs``) and ``otel_capture`` on, the span records the input and the result.
    * ``kind`` is the span's kind: ``'internal'``, ``'client'`` or ``'server'``.
    * ``parent`` is the context to continue (default: the current one).
    * ``carrier`` receives the span's context (``traceparent``), for a request to another process.
    * An exception is recorded (type, message, traceback) and sets the span's status to ERROR; it
      goes on to the caller.
    """
    span_tracer = _tracer or _make_tracer()
    api = _api
    capture = args is not None and config['otel_capture']
    if capture:
        limit = config['otel_max_length']
        attributes['input.value'] = call_text(args, kwargs, limit)  # type: ignore[arg-type]
    span = span_tracer.start_span(name, parent, getattr(api, kind), attributes)
    token = api.attach(api.in_context(span))
    if carrier is not None:
        api.inject(carrier)
    try:
        result = yield
    except BaseException as exc:
        failed(span, exc)
        raise
    else:
        if capture:
            span.set_attribute('output.value', text(result, limit))
        return result
    finally:
        api.detach(token)
        span.end()


def failed(span: Span, exc: BaseException) -> None:
    """Record ``exc`` on ``span``: an ``exception`` event, ``error.type``, and the status ERROR."""
    try:
        span.record_exception(exc)
        description = f'{type(exc).__name__}: {exc}'
    except Exception:  # an exception whose str() fails: its type says enough, and it goes on to the caller
        description = type(exc).__name__
    span.set_attribute('error.type', _qualified(type(exc)))
    span.set_status(_api.status(_api.error, description))


def extract(headers: Mapping[str, str]) -> Context:
    """The trace context ``headers`` carry (none, if they carry none or a malformed one)."""
    tracer()  # the propagators are OpenTelemetry's global ones, set up with the provider
    return _api.extract(headers)  # type: ignore[no-any-return]


# -- what spans say -------------------------------------------------------------------------------

_names: dict[type, str] = {}


def _qualified(cls: type) -> str:
    """``package.module.Class``, made once per class."""
    name = _names.get(cls)
    if name is None:
        module = cls.__module__
        name = _names[cls] = cls.__qualname__ if module == 'builtins' else f'{module}.{cls.__qualname__}'
    return name


def title(obj: Any) -> str:
    """How a span names a module or flow, ``Type(name)`` or ``Type``; a function, by its name."""
    kind = getattr(obj, '__qualname__', None) or type(obj).__name__  # a function's own name, else the type's
    name = getattr(obj, 'name', None)
    return f'{kind}({name})' if isinstance(name, str) and name else kind


def module_attributes(module: Any) -> dict[str, Any]:
    """The attributes that say which module: its type, id and name."""
    attributes = {'lazyplug.module.type': _qualified(type(module)), 'lazyplug.module.id': module._module_id}
    if module.name:
        attributes['lazyplug.module.name'] = str(module.name)
    return attributes


def flow_attributes(flow: Any) -> dict[str, Any]:
    """The attributes that say which flow: its type and how many items it has."""
    return {'lazyplug.flow.type': _qualified(type(flow)), 'lazyplug.flow.items': len(flow)}


_CONTAINERS = (list, tuple, dict, set, frozenset)
_SCALARS = frozenset({int, float, bool, type(None)})  # their repr is short and cannot fail
_short = reprlib.Repr()
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = _short.maxfrozenset = _short.maxdeque = 100
_short.maxstring = _short.maxother = _short.maxlong = 1024
_short.maxlevel = 6


def _repr(value: Any) -> str:
    try:
        # repr is fast, but its time and length grow with the value: a large container is abbreviated
        if isinstance(value, _CONTAINERS) and len(value) > 100:
            return _short.repr(value)
        return repr(value)
    except Exception as exc:  # a broken __repr__ must not break the call it describes
        return f'<{type(value).__name__} whose repr() failed: {type(exc).__name__}: {exc}>'


def text(value: Any, limit: int | None = None) -> str:
    """``value`` as a span shows it: a string as it is, anything else as its ``repr``, cut to
    ``limit`` characters (default: the ``otel_max_length`` setting)."""
    kind = type(value)
    shown = value if kind is str else repr(value) if kind in _SCALARS else _repr(value)
    if limit is None:
        limit = config['otel_max_length']
    return shown if len(shown) <= limit else shown[:limit] + '…'


def call_text(args: tuple[Any, ...], kwargs: dict[str, Any] | None, limit: int | None = None) -> str:
    """A call's arguments as a span shows them: one argument as :func:`text` does, several as
    ``1, 'a', k=2``."""
    if not kwargs and len(args) == 1:
        return text(args[0], limit)
    parts = [_repr(a) for a in args]
    if kwargs:
        parts.extend(f'{key}={_repr(value)}' for key, value in kwargs.items())
    return text(', '.join(parts), limit)
