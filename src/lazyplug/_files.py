"""Files lazyplug keeps for its user alone: the state directory (``LAZYPLUG_HOME``) and what lazyplug
writes there or at paths the user names (the service registry, the result caches, the service logs).

Directories lazyplug creates are 0700 and files 0600, whatever the umask: a registry names the
services a user runs, a cache holds their results, a log their inputs' tracebacks. A directory or
file that exists already keeps its permissions (the user may share it on purpose).
"""

from __future__ import annotations

import os

__all__ = ['open_private', 'private_dir', 'private_file']


def private_dir(path: str) -> str:
    """Create directory ``path`` and its missing parents, each 0700; return ``path``."""
    missing = []
    here = os.path.abspath(path)
    while not os.path.isdir(here):
        missing.append(here)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:  # made meanwhile by another process (or a file: what follows says so)
            pass
    return path


def private_file(path: str) -> str:
    """Create file ``path`` (and its directory) 0600 if it does not exist; return ``path``.

    SQLite gives a database's journal, WAL and shared-memory files the database file's
    permissions, so creating the database file this way makes all of them private.
    """
    if not os.path.exists(path):
        private_dir(os.path.dirname(path) or '.')
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return path


def open_private(path: str, mode: str = 'wb') -> int:
    """A descriptor of ``path`` opened for writing (``mode``: 'wb' truncates, 'ab' appends), created
    0600 if it does not exist."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == 'ab' else os.O_TRUNC)
    return os.open(path, flags | getattr(os, 'O_CLOEXEC', 0), 0o600)
