"""lazyplug-otel: OpenTelemetry tracing of lazyplug applications.

Installed, it traces every program that uses lazyplug, with no change to the program: a span per
``update()`` / ``start()`` / ``eval()``, per phase, per task, per module call and per flow call,
nested as they run, and across served modules (the caller's trace context travels with each call
to a ServerModule, whatever launcher runs it).

* :mod:`lazyplug_otel.plugin`: the hook implementations (entry point ``otel``).
* :mod:`lazyplug_otel.tracing`: the tracer, made on the first span, and what spans say.
* :mod:`lazyplug_otel.provider`: the tracer provider made from the ``OTEL_*`` variables.
* :mod:`lazyplug_otel.store` and :mod:`lazyplug_otel.exporter`: the local backend, a SQLite file
  in lazyplug's state directory, and the exporter that writes to it.
* :mod:`lazyplug_otel.cli`: ``lazyplug trace``, which lists the stored traces and draws one.

Settings (``LAZYPLUG_<NAME>``): ``otel`` (on), ``otel_capture`` (inputs and outputs recorded),
``otel_max_length``, ``otel_store``, ``otel_keep_traces`` (see :mod:`lazyplug_otel.settings`).
The standard ``OTEL_*`` variables choose exporters, endpoints, sampling and the service's name.
"""

from __future__ import annotations

from . import settings as settings
from .tracing import flush

__all__ = ['flush']

__version__ = '0.1.0'
