"""The ``memory://`` service registry: entries kept in this process (for tests, and for services
that only this process calls)."""

from __future__ import annotations

import os
import threading
import time

from ..errors import ConfigError
from . import REMOVALS_KEPT, ServiceEntry, conflict_error, liveness

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['MemoryRegistry']


class MemoryRegistry:
    """Entries in a dict of this process, behind a lock. Each ``memory://...`` URL is its own registry
    (through ``get_registry``); a forked child starts with a copy of its parent's entries."""

    def __init__(self, url: str = 'memory://') -> None:
        if not url.startswith('memory://'):
            raise ConfigError(f'{url!r} is not a memory:// registry URL')
        self.url = url
        self._entries: dict[str, dict[str, Any]] = {}  # module id -> the entry's dict and 'pid_starts'
        self._removed: dict[str, float] = {}  # module id -> when remove() took its entry out
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f'<MemoryRegistry {self.url} ({len(self._entries)} entries)>'

    def _locked(self) -> threading.Lock:
        if self._pid != os.getpid():  # a forked child: the lock may have been held by another thread
            self._lock, self._pid = threading.Lock(), os.getpid()
        return self._lock

    def publish(self, entry: ServiceEntry) -> None:
        record = liveness.stamp(entry.to_dict())
        with self._locked():
            old = self._entries.get(entry.module_id)
            if old is not None and old['owner_pid'] != entry.owner_pid and liveness.entry_alive(old):
                raise conflict_error(self.url, ServiceEntry.from_dict(old), entry)
            self._entries.pop(entry.module_id, None)  # re-published: it is now the newest
            self._entries[entry.module_id] = record
            self._removed.pop(entry.module_id, None)

    def lookup(self, module_id: str) -> ServiceEntry | None:
        with self._locked():
            record = self._entries.get(module_id)
            if record is None:
                return None
            if not liveness.entry_alive(record):
                del self._entries[module_id]
                return None
            return ServiceEntry.from_dict(record)

    def remove(self, module_id: str) -> None:
        with self._locked():
            now = time.time()
            if self._entries.pop(module_id, None) is not None:
                self._removed[module_id] = now
            for old in [key for key, when in self._removed.items() if now - when > REMOVALS_KEPT]:
                del self._removed[old]

    def removed(self, module_id: str) -> bool:
        with self._locked():
            when = self._removed.get(module_id)
        return when is not None and time.time() - when <= REMOVALS_KEPT

    def list(self) -> list[ServiceEntry]:  # last: in the class body below it, `list` is this method
        with self._locked():
            live = []
            for module_id, record in list(self._entries.items()):
                if liveness.entry_alive(record):
                    live.append(ServiceEntry.from_dict(record))
                else:
                    del self._entries[module_id]
        live.sort(key=lambda e: e.started)
        return live
