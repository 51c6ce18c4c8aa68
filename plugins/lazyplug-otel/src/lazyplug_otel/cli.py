"""``lazyplug trace``: the traces of the local backend, listed, or one drawn as a tree (rich)."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING

import click
from lazyplug.cli.output import echo_json, table

from .store import Span, TraceNotFoundError, TraceStore, walk

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ['duration', 'trace_command']

_ID = re.compile(r'[0-9a-fA-F]{4,32}')


@click.command('trace')
@click.argument('trace_id', metavar='[ID]', required=False)
@click.option('-n', '--limit', type=click.IntRange(min=1), default=20, show_default=True,
              help='How many traces to list, newest first.')
@click.option('-a', '--attributes', is_flag=True, help="Show each span's attributes: input, output, ids, counts.")
@click.option('--json', 'as_json', is_flag=True, help='Print JSON: the list of traces, or the spans of one.')
@click.option('--store', metavar='PATH', default=None,
              help='The trace store (default: LAZYPLUG_OTEL_STORE, else traces.sqlite3 in LAZYPLUG_HOME).')
def trace_command(trace_id: str | None, limit: int, attributes: bool, as_json: bool, store: str | None) -> None:
    """List the recent traces lazyplug-otel stored, or draw the trace ID as a tree of spans with
    their durations.

    ID is a trace id, or enough of its first hexadecimal digits (at least 4) to tell it from the others.
    """
    traces = TraceStore(store)
    try:
        if trace_id is None:
            _list(traces, limit, as_json)
        else:
            if not _ID.fullmatch(trace_id):
                raise click.BadParameter(f'{trace_id!r} is not a trace id: 32 hexadecimal digits, or at least the '
                                         'first 4 of them', param_hint='ID')
            try:
                found = traces.find(trace_id)
                spans = traces.spans(found)
                if not spans:  # removed meanwhile, the store keeping newer traces
                    raise TraceNotFoundError(f'the trace {found} has just been removed from {traces.path}')
            except TraceNotFoundError as exc:
                raise click.BadParameter(str(exc), param_hint='ID') from None
            _draw(found, spans, attributes, as_json)
    finally:
        traces.close()


def _list(traces: TraceStore, limit: int, as_json: bool) -> None:
    recent = traces.recent(limit)
    if as_json:
        echo_json([summary.to_dict() for summary in recent])
        return
    if not recent:
        click.echo(f'no traces in {traces.path} yet: programs keep theirs there while lazyplug-otel is on '
                   '(LAZYPLUG_OTEL) and OTEL_TRACES_EXPORTER, if set, names `lazyplug`', err=True)
        return
    table(['TRACE', 'STARTED', 'DURATION', 'SPANS', 'ERRORS', 'ROOT'],
          [(s.trace_id, _clock(s.start_ns), duration(s.seconds), s.spans, s.errors or '', s.name) for s in recent])


def _draw(trace_id: str, spans: list[Span], attributes: bool, as_json: bool) -> None:
    if as_json:
        echo_json({'trace_id': trace_id, 'spans': [span.to_dict() for span in spans]})
        return
    from rich.console import Console
    from rich.tree import Tree
    start = min(span.start_ns for span in spans)
    end = max(span.end_ns for span in spans)
    errors = sum(span.status == 'ERROR' for span in spans)
    head = (f'trace {trace_id}  {_clock(start)}  {duration((end - start) / 1e9)}  {len(spans)} spans'
            + (f'  [red]{errors} failed[/red]' if errors else ''))
    root = Tree(head, guide_style='dim')
    nodes: dict[str, Tree] = {}
    for _, span in walk(spans):
        parent = nodes.get(span.parent_id or '', root)
        nodes[span.span_id] = parent.add(_label(span, start, attributes))
    console = Console(highlight=False)
    if not console.is_terminal:  # a file or a pipe gets every line whole, for grep and for the eye
        console = Console(highlight=False, width=100_000)
    console.print(root)


def _label(span: Span, trace_start: int, attributes: bool) -> Text:
    from rich.text import Text
    label = Text()
    label.append(span.name, style='bold red' if span.status == 'ERROR' else 'bold')
    label.append(f'  {duration(span.seconds)}')
    label.append(f'  +{duration((span.start_ns - trace_start) / 1e9)}', style='dim')
    if span.kind in ('CLIENT', 'SERVER'):
        label.append(f'  {span.kind.lower()}, {span.service} pid {span.pid}', style='cyan')
    if span.status == 'ERROR':
        label.append(f'  {span.message}', style='red')
    if attributes:
        for key, value in span.attributes.items():
            label.append(f'\n{key} = {value if isinstance(value, str) else json.dumps(value)}', style='dim')
    return label


def _clock(ns: int) -> str:
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(ns / 1e9))


def duration(seconds: float) -> str:
    """``230 µs``, ``4.5 ms``, ``1.23 s``, ``2 min 5 s``."""
    if seconds < 1e-3:
        return f'{seconds * 1e6:.0f} µs'
    if seconds < 1:
        return f'{seconds * 1e3:.1f} ms'
    if seconds < 120:
        return f'{seconds:.2f} s'
    return f'{int(seconds // 60)} min {seconds % 60:.0f} s'
