"""The local backend: spans kept in a SQLite file in lazyplug's state directory.

* :class:`TraceStore` writes and reads it: spans in, the recent traces and the spans of one out.
  Several processes may write at once (a program and the servers of its ServerModules): the file
  is in WAL mode, and a writer waits for another.
* :class:`lazyplug_otel.exporter.LocalSpanExporter` is the OpenTelemetry exporter that writes to it.
* The newest ``otel_keep_traces`` traces are kept, by the time their first span started.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import asdict, astuple, dataclass
from typing import TYPE_CHECKING, Any

from lazyplug import config
from lazyplug.errors import LazyplugError

from .settings import store_path

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ['Row', 'Span', 'TraceNotFoundError', 'TraceStore', 'TraceSummary', 'walk']

_VERSION = 1
_encode = json.JSONEncoder(default=str, check_circular=False, ensure_ascii=False).encode
# A span is stored as the JSON array of its fields (a Row), beside the two columns it is found by:
# SQLite takes a batch apart in one statement, at a third of what a column per field costs
_SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (trace_id TEXT PRIMARY KEY, start_ns INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS traces_by_start ON traces (start_ns);
CREATE TABLE IF NOT EXISTS spans (trace_id TEXT NOT NULL, start_ns INTEGER NOT NULL, span TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS spans_by_trace ON spans (trace_id, start_ns);
"""
_SET_UP_TIMEOUT = 30.0  # seconds a process waits for another that holds the store
Row = list[Any]
"""A span as :meth:`TraceStore.write` takes it: its fields in the order of :class:`Span`'s, with the
attributes as a dict and the events as a list of dicts."""
_FIELDS = ('trace_id', 'span_id', 'parent_id', 'name', 'kind', 'start_ns', 'end_ns', 'status', 'message',
           'attributes', 'events', 'service', 'pid')


_TRACE_ID, _START_NS = _FIELDS.index('trace_id'), _FIELDS.index('start_ns')


def _field(name: str, span: str = 'span') -> str:
    """SQL for the field ``name`` of the stored span in the column ``span``."""
    return f"json_extract({span}, '$[{_FIELDS.index(name)}]')"


class TraceNotFoundError(LazyplugError, LookupError):
    """No stored trace has the id asked for, or several start with the prefix given."""


@dataclass(frozen=True)
class Span:
    """One stored span. Times are nanoseconds since the epoch; ``status`` is ``UNSET``, ``OK`` or
    ``ERROR``; ``kind`` is ``INTERNAL``, ``CLIENT``, ``SERVER``..."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    status: str
    message: str
    attributes: dict[str, Any]
    events: list[dict[str, Any]]
    service: str
    pid: int | None

    @property
    def seconds(self) -> float:
        """How long the span lasted."""
        return (self.end_ns - self.start_ns) / 1e9

    def to_dict(self) -> dict[str, Any]:
        """The span as JSON-ready data."""
        return asdict(self)

    def row(self) -> Row:
        """The span as :meth:`TraceStore.write` takes it."""
        return list(astuple(self))


@dataclass(frozen=True)
class TraceSummary:
    """One trace as listed: its id, start, duration, span and error counts, and its root span's name."""

    trace_id: str
    start_ns: int
    seconds: float
    spans: int
    errors: int
    name: str

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        return asdict(self)


def _connect(path: str) -> sqlite3.Connection:
    """The store at ``path``, made if need be: private (0600, in a 0700 directory), as everything in
    lazyplug's state directory is; spans hold inputs and outputs. SQLite gives its journal files
    the database file's permissions."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or '.', mode=0o700, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    deadline = time.monotonic() + _SET_UP_TIMEOUT
    while True:
        try:
            return _set_up(path)
        except sqlite3.DatabaseError as exc:
            # processes that make the store at once: SQLite does not wait its busy timeout for a
            # change of the journal mode, it answers "locked" at once
            if 'locked' in str(exc) and time.monotonic() < deadline:
                time.sleep(0.02)
                continue
            raise LazyplugError(f'{path} is not a trace store ({exc}): move it away, or set LAZYPLUG_OTEL_STORE '
                                'to another path') from exc


def _set_up(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=_SET_UP_TIMEOUT, isolation_level=None, check_same_thread=False)
    try:
        version = connection.execute('PRAGMA user_version').fetchone()[0]
        if version not in (0, _VERSION):
            raise LazyplugError(f'{path} holds traces in format {version}; this lazyplug-otel reads format '
                                f'{_VERSION}: move the file away (or set LAZYPLUG_OTEL_STORE to another path)')
        connection.execute('PRAGMA journal_mode=WAL')
        connection.execute('PRAGMA synchronous=NORMAL')  # a trace store need not survive a power cut
        if version == 0:
            connection.executescript(_SCHEMA + f'PRAGMA user_version = {_VERSION};')
    except BaseException:
        connection.close()
        raise
    return connection


class TraceStore:
    """The traces kept in the SQLite file at ``path`` (default: the ``otel_store`` setting)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or store_path()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():  # a connection does not survive a fork
            self._connection = _connect(self.path)
            self._pid = os.getpid()
        return self._connection

    def add(self, spans: Sequence[Span], keep: int | None = None) -> None:
        """Store ``spans`` (see :meth:`write`)."""
        self.write([span.row() for span in spans], keep)

    def write(self, rows: Sequence[Row], keep: int | None = None) -> None:
        """Store spans given as rows, then remove the oldest traces beyond the newest ``keep``
        (default: the ``otel_keep_traces`` setting)."""
        keep = int(config['otel_keep_traces']) if keep is None else keep
        starts: dict[str, int] = {}
        for row in rows:  # a trace starts with its earliest span, whichever process wrote it
            trace_id, start = row[_TRACE_ID], row[_START_NS]
            if start < starts.get(trace_id, start + 1):
                starts[trace_id] = start
        # One statement per table, whatever the number of spans: SQLite takes the JSON text of the
        # batch apart (a statement per span would let go of the GIL each time, and a busy program's
        # thread may keep it for 5 ms before handing it back)
        with self._lock:
            db = self._db()
            db.execute('BEGIN IMMEDIATE')
            try:
                db.execute(f"INSERT INTO spans SELECT {_field('trace_id', 'value')}, {_field('start_ns', 'value')}, "
                           'value FROM json_each(?)', (_encode(rows),))
                db.execute("INSERT INTO traces SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
                           'FROM json_each(?) WHERE true '
                           'ON CONFLICT (trace_id) DO UPDATE SET start_ns = min(start_ns, excluded.start_ns)',
                           (_encode(list(starts.items())),))
                self._forget_beyond(db, keep)
                db.execute('COMMIT')
            except BaseException:
                db.execute('ROLLBACK')
                raise

    @staticmethod
    def _forget_beyond(db: sqlite3.Connection, keep: int) -> None:
        oldest_kept = db.execute('SELECT start_ns FROM traces ORDER BY start_ns DESC LIMIT 1 OFFSET ?',
                                 (keep - 1,)).fetchone()
        if oldest_kept is None:
            return
        old = 'SELECT trace_id FROM traces WHERE start_ns < ?'
        db.execute(f'DELETE FROM spans WHERE trace_id IN ({old})', oldest_kept)
        db.execute('DELETE FROM traces WHERE start_ns < ?', oldest_kept)

    def recent(self, limit: int = 20) -> list[TraceSummary]:
        """The newest ``limit`` traces, newest first."""
        if not os.path.exists(self.path):
            return []
        # the root's name: a span without a parent, else (a part of a trace begun elsewhere) the earliest
        root = (f"(SELECT {_field('name', 'r.span')} FROM spans r WHERE r.trace_id = t.trace_id "
                f"ORDER BY {_field('parent_id', 'r.span')} IS NOT NULL, r.start_ns LIMIT 1)")
        with self._lock:
            rows = self._db().execute(
                f"SELECT t.trace_id, t.start_ns, max({_field('end_ns', 's.span')}), count(*), "
                f"sum({_field('status', 's.span')} = 'ERROR'), {root} "
                'FROM (SELECT * FROM traces ORDER BY start_ns DESC LIMIT ?) t JOIN spans s USING (trace_id) '
                'GROUP BY t.trace_id ORDER BY t.start_ns DESC', (limit,)).fetchall()
        return [TraceSummary(trace_id, start_ns, (end_ns - start_ns) / 1e9, count, errors, name)
                for trace_id, start_ns, end_ns, count, errors, name in rows]

    def find(self, prefix: str) -> str:
        """The id of the one stored trace whose id starts with ``prefix`` (hexadecimal digits)."""
        prefix = prefix.lower()
        ids: list[str] = []
        if os.path.exists(self.path):
            with self._lock:
                ids = [row[0] for row in self._db().execute(
                    'SELECT trace_id FROM traces WHERE trace_id >= ? AND trace_id < ? ORDER BY start_ns DESC LIMIT 6',
                    (prefix, prefix + 'g'))]
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise TraceNotFoundError(f'no stored trace has an id starting with {prefix!r} (in {self.path}); '
                                     '`lazyplug trace` lists the recent ones')
        raise TraceNotFoundError(f'several traces have ids starting with {prefix!r}: {", ".join(ids[:5])}'
                                 + (', ...' if len(ids) > 5 else '') + '; give more of the id')

    def spans(self, trace_id: str) -> list[Span]:
        """The spans of the trace ``trace_id``, by start time (the longer first, of two that start together)."""
        with self._lock:
            rows = self._db().execute('SELECT span FROM spans WHERE trace_id = ?', (trace_id,)).fetchall()
        spans = [Span(*json.loads(row[0])) for row in rows]
        spans.sort(key=lambda span: (span.start_ns, -span.end_ns))
        return spans

    def close(self) -> None:
        """Close the file (it opens again when used)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _roots(spans: list[Span]) -> list[Span]:
    """The spans whose parent is not in the trace as stored (its root, or the roots of its parts)."""
    ids = {span.span_id for span in spans}
    return [span for span in spans if span.parent_id not in ids]


def walk(spans: list[Span]) -> Iterator[tuple[int, Span]]:
    """``(depth, span)`` of every span of ``spans`` (in start order), each parent before its
    children, siblings by start time."""
    kids: dict[str, list[Span]] = {}
    for span in spans:
        if span.parent_id is not None:
            kids.setdefault(span.parent_id, []).append(span)
    roots = _roots(spans)
    stack = [(0, span) for span in reversed(roots)]
    while stack:
        depth, span = stack.pop()
        yield depth, span
        stack.extend((depth + 1, kid) for kid in reversed(kids.get(span.span_id, ())))
