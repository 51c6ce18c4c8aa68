"""The ``jsonfile:///path`` service registry: every entry in one JSON file, locked while in use."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from typing import Any

from lazyplug.errors import ConfigError
from lazyplug.services import REMOVALS_KEPT, ServiceEntry, conflict_error, liveness


class JsonFileRegistry:
    def __init__(self, url: str) -> None:
        if not url.startswith('jsonfile:///'):
            raise ConfigError(f'{url!r} is not a jsonfile:///absolute/path URL')
        self.url = url
        self.path = url[len('jsonfile://'):]
        self._lock = threading.Lock()  # flock locks per process: threads take turns first

    def _change(self, change: Any) -> Any:
        """``change(data)`` on the file's data, saved afterwards; the file locked all along."""
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        with self._lock, open(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), 'r+') as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            data = json.loads(f.read() or '{"entries": {}, "removed": {}}')
            result = change(data)
            f.seek(0)
            f.truncate()
            f.write(json.dumps(data))
            return result

    def publish(self, entry: ServiceEntry) -> None:
        def publish(data: Any) -> None:
            old = data['entries'].get(entry.module_id)
            if old is not None and old['owner_pid'] != entry.owner_pid and liveness.entry_alive(old):
                raise conflict_error(self.url, ServiceEntry.from_dict(old), entry)
            data['entries'].pop(entry.module_id, None)  # published again: now the newest
            data['entries'][entry.module_id] = liveness.stamp(entry.to_dict())
            data['removed'].pop(entry.module_id, None)
        self._change(publish)

    def lookup(self, module_id: str) -> ServiceEntry | None:
        return next((e for e in self.list() if e.module_id == module_id), None)

    def remove(self, module_id: str) -> None:
        def remove(data: Any) -> None:
            now = time.time()
            if data['entries'].pop(module_id, None) is not None:
                data['removed'][module_id] = now
            data['removed'] = {k: t for k, t in data['removed'].items() if now - t <= REMOVALS_KEPT}
        self._change(remove)

    def removed(self, module_id: str) -> bool:
        when = self._change(lambda data: data['removed'].get(module_id))
        return when is not None and time.time() - when <= REMOVALS_KEPT

    def list(self) -> list[ServiceEntry]:
        def live(data: Any) -> list[ServiceEntry]:
            data['entries'] = {k: r for k, r in data['entries'].items() if liveness.entry_alive(r)}
            return [ServiceEntry.from_dict(r) for r in data['entries'].values()]
        return sorted(self._change(live), key=lambda e: e.started)
