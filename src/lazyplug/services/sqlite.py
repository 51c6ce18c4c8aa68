"""The ``sqlite:///path`` service registry: one SQLite file shared by the processes of this machine.

The file holds two tables: ``services``, keyed by module id, each row the entry as JSON (with
the start times of its processes, see ``_process``), and ``removed``, when ``remove()`` last took
each module id's entry out (kept for ``REMOVALS_KEPT`` seconds, forgotten when it is published
again). The database is in WAL mode with a busy timeout, so that readers do not block the
writer; ``publish`` checks and writes in one ``BEGIN IMMEDIATE`` transaction, so that of two
processes publishing the same id at once one wins and the other sees its entry. A dead entry is
deleted only if it is still the one that was read, never a newer one.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time

from ..errors import ConfigError, ServiceError
from . import REMOVALS_KEPT, ServiceEntry, _process, conflict_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar('T')

__all__ = ['SqliteRegistry', 'parse_url']

BUSY_TIMEOUT = 30.0
"""Seconds a statement waits for another process's write lock before it fails."""

_FORM = 'sqlite:///absolute/path.sqlite'
_DRIVE = re.compile(r'/[A-Za-z]:[/\\]')

# Connections opened before a fork: a child never uses or closes them (SQLite forbids carrying a
# connection across fork()); they are kept here so that garbage collection does not close them.
_inherited: list[sqlite3.Connection] = []


def parse_url(url: str) -> str:
    """The absolute file path of a ``sqlite:///absolute/path`` URL.

    ``sqlite:////abs/path`` (SQLAlchemy's spelling of an absolute path) and ``sqlite:///C:/path``
    name the same files as one would expect; ``%xx`` escapes are decoded. A host, a query, a
    fragment, an empty or a relative path is a ConfigError.
    """
    from urllib.parse import unquote, urlsplit

    def bad(why: str) -> ConfigError:
        return ConfigError(f'bad SQLite service registry URL {url!r}: {why} (expected {_FORM})')

    if not url.startswith('sqlite://'):
        raise bad('the scheme is not sqlite://')
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise bad(str(exc)) from None
    if parts.netloc not in ('', 'localhost'):
        raise bad(f'it names the host {parts.netloc!r}; a registry is a local file')
    if parts.query or parts.fragment or url.endswith(('?', '#')):
        raise bad("it has a query or a fragment (write '?' as %3F and '#' as %23 in a path)")
    path = unquote(parts.path)
    if not path.strip('/'):
        raise bad('it names no file (memory:// is the registry that needs none)')
    if '\x00' in path:
        raise bad('the path holds a NUL character')
    path = '/' + path.lstrip('/')  # sqlite:////abs, as SQLAlchemy writes it, is /abs too
    if _DRIVE.match(path):  # sqlite:///C:/dir/file on Windows
        path = path[1:]
    if not os.path.isabs(path):
        raise bad('the path is not absolute')
    if path.endswith(('/', os.sep)):
        raise bad('the path names a directory, not a file')
    return os.path.normpath(path)


def _load(text: str) -> tuple[ServiceEntry, bool] | None:
    """The entry stored as ``text`` and whether it is alive; None when ``text`` is not a valid entry."""
    try:
        record = json.loads(text)
        return ServiceEntry.from_dict(record), _process.entry_alive(record)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class SqliteRegistry:
    """Entries in a SQLite file; every process of the machine that opens the same file sees them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = parse_url(url)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f'<SqliteRegistry {self.path}>'

    # -- the connection ------------------------------------------------------------------------------
    def _locked(self) -> threading.Lock:
        if self._pid != os.getpid():  # a forked child: start afresh (the lock may have been held)
            if self._conn is not None:
                _inherited.append(self._conn)
            self._lock, self._conn, self._pid = threading.Lock(), None, os.getpid()
        return self._lock

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None)
            try:
                conn.execute(f'PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}')
                conn.execute('PRAGMA journal_mode = WAL')
                conn.execute('PRAGMA synchronous = NORMAL')
                conn.execute('CREATE TABLE IF NOT EXISTS services (module_id TEXT PRIMARY KEY, entry TEXT NOT NULL)')
                conn.execute('CREATE TABLE IF NOT EXISTS removed (module_id TEXT PRIMARY KEY, at REAL NOT NULL)')
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return conn

    def _run(self, work: Callable[[sqlite3.Connection], T], write: bool = False) -> T:
        """``work(connection)`` under the lock; with ``write``, inside one BEGIN IMMEDIATE transaction."""
        try:
            with self._locked():
                conn = self._connection()
                if not write:
                    return work(conn)
                conn.execute('BEGIN IMMEDIATE')
                try:
                    result = work(conn)
                    conn.execute('COMMIT')
                except BaseException:
                    if conn.in_transaction:
                        conn.execute('ROLLBACK')
                    raise
                return result
        except sqlite3.Error as exc:
            raise ServiceError(f'the service registry {self.url} failed: {exc}') from exc
        except OSError as exc:
            raise ServiceError(f'the service registry {self.url} cannot be opened: {exc}') from exc

    def close(self) -> None:
        """Close this process's connection (the next use opens another)."""
        with self._locked():
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    # -- the registry ----------------------------------------------------------------------------------
    def publish(self, entry: ServiceEntry) -> None:
        text = json.dumps(_process.stamp(entry.to_dict()))

        def publish(conn: sqlite3.Connection) -> None:
            row = conn.execute('SELECT entry FROM services WHERE module_id = ?', (entry.module_id,)).fetchone()
            old = None if row is None else _load(row[0])
            if old is not None and old[1] and old[0].owner_pid != entry.owner_pid:
                raise conflict_error(self.url, old[0], entry)
            # a delete and an insert, not an update: the entry becomes the newest row
            conn.execute('DELETE FROM services WHERE module_id = ?', (entry.module_id,))
            conn.execute('INSERT INTO services (module_id, entry) VALUES (?, ?)', (entry.module_id, text))
            conn.execute('DELETE FROM removed WHERE module_id = ?', (entry.module_id,))

        self._run(publish, write=True)

    def lookup(self, module_id: str) -> ServiceEntry | None:
        row = self._run(lambda conn: conn.execute('SELECT entry FROM services WHERE module_id = ?',
                                                  (module_id,)).fetchone())
        if row is None:
            return None
        loaded = _load(row[0])
        if loaded is not None and loaded[1]:
            return loaded[0]
        self._forget([(module_id, row[0])])
        return None

    def remove(self, module_id: str) -> None:
        now = time.time()

        def remove(conn: sqlite3.Connection) -> None:
            conn.execute('INSERT OR REPLACE INTO removed (module_id, at) SELECT module_id, ? FROM services '
                         'WHERE module_id = ?', (now, module_id))
            conn.execute('DELETE FROM services WHERE module_id = ?', (module_id,))
            conn.execute('DELETE FROM removed WHERE at < ?', (now - REMOVALS_KEPT,))

        self._run(remove, write=True)

    def removed(self, module_id: str) -> bool:
        row = self._run(lambda conn: conn.execute('SELECT at FROM removed WHERE module_id = ?',
                                                  (module_id,)).fetchone())
        return row is not None and time.time() - row[0] <= REMOVALS_KEPT

    def _forget(self, rows: list[tuple[str, str]]) -> None:
        """Delete dead rows, each only if it still holds the entry that was read (not a newer one)."""
        self._run(lambda conn: conn.executemany('DELETE FROM services WHERE module_id = ? AND entry = ?', rows),
                  write=True)

    def list(self) -> list[ServiceEntry]:  # last: in the class body below it, `list` is this method
        rows = self._run(lambda conn: conn.execute('SELECT module_id, entry FROM services ORDER BY rowid').fetchall())
        live: list[ServiceEntry] = []
        dead: list[tuple[str, str]] = []
        for module_id, text in rows:
            loaded = _load(text)
            if loaded is not None and loaded[1]:
                live.append(loaded[0])
            else:
                dead.append((module_id, text))
        if dead:
            self._forget(dead)
        live.sort(key=lambda e: e.started)
        return live
