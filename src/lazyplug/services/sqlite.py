"""The ``sqlite:///path`` service registry: one SQLite file shared by the processes of this machine.

The file holds two tables: ``services``, keyed by module id, each row the entry as JSON (with
the start times of its processes, see ``liveness``), and ``removed``, when ``remove()`` last took
each module id's entry out (kept for ``REMOVALS_KEPT`` seconds, forgotten when it is published
again). Writers wait for each other (a busy timeout); ``publish`` checks and writes in one
``BEGIN IMMEDIATE`` transaction, so that of two processes publishing the same id at once one
wins and the other sees its entry. A dead entry is deleted only if it is still the one that was
read, never a newer one.

The file may be removed or replaced while processes use it (``rm``, a restored backup): before
each use, and every ``WATCH_INTERVAL`` seconds while this process serves entries it published,
the registry compares the file at its path with the one it opened (device and inode), and on a
change opens the new one and publishes its entries there again. So that a new file is never
paired with the journal of the old one, the database keeps a rollback journal, which exists only
during a write, rather than a write-ahead log and its shared-memory file, which outlive every
write and are found by name. A file this process cannot write (a read-only state directory) is
read as it is: listing and looking up work; publishing and removing are a ServiceError.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import warnings

from .._files import private_file
from ..errors import ConfigError, ServiceConflictError, ServiceError
from . import REMOVALS_KEPT, ServiceEntry, conflict_error, liveness

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar('T')

__all__ = ['SqliteRegistry', 'parse_url']

BUSY_TIMEOUT = 30.0
"""Seconds a statement waits for another process's write lock before it fails."""

WATCH_INTERVAL = 1.0
"""Seconds between two looks at the file's identity while this process serves entries it published."""

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
        return ServiceEntry.from_dict(record), liveness.entry_alive(record)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _cannot_write(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says that the file or its directory cannot be written (read-only)."""
    code = getattr(exc, 'sqlite_errorcode', None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (8, 14)  # SQLITE_READONLY, SQLITE_CANTOPEN (a journal that cannot be made)
    return 'readonly' in str(exc) or 'unable to open' in str(exc)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


class SqliteRegistry:
    """Entries in a SQLite file; every process of the machine that opens the same file sees them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = parse_url(url)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._opened: tuple[int, int] | None = None  # the identity of the file self._conn has open
        self._pid = os.getpid()
        self._owned: dict[str, tuple[ServiceEntry, str]] = {}  # published here, not removed: entry, row
        self._watching: threading.Event | None = None  # set to stop the running watch thread

    def __repr__(self) -> str:
        return f'<SqliteRegistry {self.path}>'

    # -- the connection ------------------------------------------------------------------------------
    def _locked(self) -> threading.Lock:
        if self._pid != os.getpid():  # a forked child: start afresh (the lock may have been held)
            if self._conn is not None:
                _inherited.append(self._conn)
            self._lock, self._conn, self._pid = threading.Lock(), None, os.getpid()
            self._owned, self._watching = {}, None  # the parent's services, and its thread
        return self._lock

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is not None and _identity(self.path) != self._opened:  # removed or replaced
            self._conn = None
            conn.close()  # a rollback journal: closing deletes nothing, by name or otherwise
            conn = None
        if conn is None:
            conn = self._open()
            try:
                if self._owned:
                    self._publish_owned(conn)
            except BaseException:  # tried again with the next use
                conn.close()
                raise
            self._conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(private_file(self.path), timeout=BUSY_TIMEOUT, check_same_thread=False,
                               isolation_level=None)
        try:
            conn.execute(f'PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}')
            if conn.execute('PRAGMA journal_mode').fetchone()[0] == 'wal':  # a file of an older lazyplug
                conn.execute('PRAGMA busy_timeout = 0')  # converted when no other process has it open
                try:
                    conn.execute('PRAGMA journal_mode = DELETE')
                except sqlite3.OperationalError:
                    pass
                conn.execute(f'PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}')
            conn.execute('PRAGMA synchronous = NORMAL')
            conn.execute('CREATE TABLE IF NOT EXISTS services (module_id TEXT PRIMARY KEY, entry TEXT NOT NULL)')
            conn.execute('CREATE TABLE IF NOT EXISTS removed (module_id TEXT PRIMARY KEY, at REAL NOT NULL)')
        except sqlite3.Error as exc:
            conn.close()
            if not _cannot_write(exc):
                raise
            conn = self._open_read_only(exc)
        self._opened = _identity(self.path)
        return conn

    def _open_read_only(self, cause: sqlite3.Error) -> sqlite3.Connection:
        """The file opened for reading only; ``immutable`` when even that needs a file it cannot make
        (the shared-memory file of a write-ahead log, in a file of an older lazyplug)."""
        from urllib.parse import quote
        for mode in ('mode=ro', 'immutable=1'):
            conn = sqlite3.connect(f'file:{quote(self.path)}?{mode}', uri=True, timeout=BUSY_TIMEOUT,
                                   check_same_thread=False, isolation_level=None)
            try:
                conn.execute('SELECT count(*) FROM services').fetchone()
            except sqlite3.Error:
                conn.close()
                continue
            return conn
        raise cause

    def _run(self, work: Callable[[sqlite3.Connection], T], write: bool = False) -> T:
        """``work(connection)`` under the lock; with ``write``, inside one BEGIN IMMEDIATE transaction."""
        try:
            with self._locked():
                conn = self._connection()
                if not write:
                    return work(conn)
                try:
                    return self._write(conn, work)
                except sqlite3.Error as exc:
                    if not _cannot_write(exc):
                        raise
                    raise ServiceError(f'the service registry {self.url} is read-only for this process (its file or '
                                       'directory cannot be written): it can be listed, not changed') from exc
        except sqlite3.Error as exc:
            raise ServiceError(f'the service registry {self.url} failed: {exc}') from exc
        except OSError as exc:
            raise ServiceError(f'the service registry {self.url} cannot be opened: {exc}') from exc

    @staticmethod
    def _write(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        conn.execute('BEGIN IMMEDIATE')
        try:
            result = work(conn)
            conn.execute('COMMIT')
        except BaseException:
            if conn.in_transaction:
                conn.execute('ROLLBACK')
            raise
        return result

    def close(self) -> None:
        """Close this process's connection (the next use opens another) and stop watching the file."""
        with self._locked():
            conn, self._conn = self._conn, None
            self._owned.clear()
            self._watch(False)
        if conn is not None:
            conn.close()

    # -- what this process serves ------------------------------------------------------------------------
    def _watch(self, on: bool) -> None:
        """Start (or stop) the thread that looks at the file while there are entries to publish again."""
        if on and self._watching is None:
            self._watching = threading.Event()
            threading.Thread(target=self._watch_file, args=(self._watching,), daemon=True,
                             name=f'lazyplug registry watch ({self.path})').start()
        elif not on and self._watching is not None:
            self._watching.set()
            self._watching = None

    def _watch_file(self, stop: threading.Event) -> None:
        failing = False
        while not stop.wait(WATCH_INTERVAL):
            try:
                self._run(lambda conn: None)  # opening the connection checks the file's identity
            except ServiceError as exc:
                if not failing:
                    warnings.warn(f'{exc} (retrying every {WATCH_INTERVAL:g} s)', RuntimeWarning, stacklevel=1)
                failing = True
            else:
                failing = False

    def _publish_owned(self, conn: sqlite3.Connection) -> None:
        """Publish again, in a new file, the entries this process published in the one it had open."""
        for module_id, (entry, text) in list(self._owned.items()):
            try:
                self._write(conn, lambda c: self._insert(c, entry, text))  # noqa: B023 - called at once
            except ServiceConflictError as exc:
                del self._owned[module_id]
                warnings.warn(f'{exc}; it is no longer published here', RuntimeWarning, stacklevel=1)
            except sqlite3.Error as exc:
                if not _cannot_write(exc):
                    raise
                warnings.warn(f'the service registry {self.url} was replaced by a file this process cannot write: '
                              f'{entry.name or module_id} is not published in it', RuntimeWarning, stacklevel=1)

    # -- the registry ----------------------------------------------------------------------------------
    def _insert(self, conn: sqlite3.Connection, entry: ServiceEntry, text: str) -> None:
        row = conn.execute('SELECT entry FROM services WHERE module_id = ?', (entry.module_id,)).fetchone()
        old = None if row is None else _load(row[0])
        if old is not None and old[1] and old[0].owner_pid != entry.owner_pid:
            raise conflict_error(self.url, old[0], entry)
        # a delete and an insert, not an update: the entry becomes the newest row
        conn.execute('DELETE FROM services WHERE module_id = ?', (entry.module_id,))
        conn.execute('INSERT INTO services (module_id, entry) VALUES (?, ?)', (entry.module_id, text))
        conn.execute('DELETE FROM removed WHERE module_id = ?', (entry.module_id,))

    def publish(self, entry: ServiceEntry) -> None:
        text = json.dumps(liveness.stamp(entry.to_dict()))
        self._run(lambda conn: self._insert(conn, entry, text), write=True)
        with self._locked():
            self._owned[entry.module_id] = (entry, text)
            self._watch(True)

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
        with self._locked():
            self._owned.pop(module_id, None)
            self._watch(bool(self._owned))
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
        """Delete dead rows, each only if it still holds the entry that was read (not a newer one);
        a registry this process cannot write keeps them (they are dead to every reader)."""
        try:
            self._run(lambda conn: conn.executemany('DELETE FROM services WHERE module_id = ? AND entry = ?',
                                                    rows), write=True)
        except ServiceError as exc:
            if not isinstance(exc.__cause__, sqlite3.Error) or not _cannot_write(exc.__cause__):
                raise

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
