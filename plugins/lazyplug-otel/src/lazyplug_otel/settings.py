"""The plugin's settings, declared when it loads: ``lazyplug.config['otel_capture']``, ``LAZYPLUG_OTEL_CAPTURE``."""

from __future__ import annotations

import os

from lazyplug import config

__all__ = ['store_path', 'tracing_on']


def _parse_positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError('expected a whole number of at least 1')
    return value


config.add('otel', bool, True, 'trace with OpenTelemetry (lazyplug-otel); off: the plugin adds only `lazyplug '
           'trace`, and calls cost nothing (read when the plugins load)')
config.add('otel_capture', bool, True, "record a call's input and output as span attributes (input.value, "
           'output.value), cut to otel_max_length characters; off for privacy')
config.add('otel_max_length', int, 1024, 'the characters of an input or output kept in a span',
           parse=_parse_positive_int)
config.add('otel_store', str, '', 'the SQLite file of the local trace backend (default: <home>/traces.sqlite3)')
config.add('otel_keep_traces', int, 1000, 'the traces the local backend keeps: older ones are removed',
           parse=_parse_positive_int)


def tracing_on() -> bool:
    """Whether to trace: the ``otel`` setting, unless OpenTelemetry's ``OTEL_SDK_DISABLED`` is true."""
    disabled = os.environ.get('OTEL_SDK_DISABLED', '').strip().lower() == 'true'
    return bool(config['otel']) and not disabled


def store_path() -> str:
    """Where the local backend keeps its traces: the ``otel_store`` setting, else ``<home>/traces.sqlite3``."""
    return str(config['otel_store']) or os.path.join(str(config['home']), 'traces.sqlite3')
