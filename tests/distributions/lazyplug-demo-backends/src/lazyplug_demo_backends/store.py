"""The ``shelf`` cache strategy: results pickled in a dbm file under the ``cache_dir`` setting."""

from __future__ import annotations

import dbm.dumb
import os
import pickle
import threading
from typing import Any

from lazyplug.cache import MISS, cache_dir


class ShelfStore:
    def __init__(self) -> None:
        os.makedirs(cache_dir(), mode=0o700, exist_ok=True)
        self.path = os.path.join(cache_dir(), 'shelf')
        self._lock = threading.Lock()  # a dbm file is not safe for threads

    def _open(self, flag: str) -> Any:
        return dbm.dumb.open(self.path, flag, 0o600)

    def get(self, key: str) -> Any:
        with self._lock, self._open('c') as db:
            raw = db.get(key)
        try:
            return MISS if raw is None else pickle.loads(raw)
        except Exception:  # an entry that cannot be read back is a miss
            return MISS

    def put(self, key: str, value: Any) -> None:
        with self._lock, self._open('c') as db:
            db[key] = pickle.dumps(value)

    def clear(self) -> None:
        with self._lock, self._open('n'):
            pass
