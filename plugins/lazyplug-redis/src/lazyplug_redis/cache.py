"""The ``redis`` strategy of the module result cache (``LAZYPLUG_CACHE_STRATEGY=redis``).

Results are kept under ``<redis_prefix>cache:<key>`` in the Redis server of the ``redis_url``
setting, with the keys of every other strategy (``lazyplug.cache.cache_key``), so processes on
any machine that share the server share the results. ``redis_cache_ttl`` (seconds, 0: none) gives
each result a time-to-live. Results travel in lazyplug's wire format (JSON with tags for tuples,
bytes, sets...; see ``lazyplug.serve.codec``), never as pickles: whatever can write to the server
must not be able to run code in the processes that read it. A result of another type is not
cached (a RuntimeWarning says so, once per type); an entry that cannot be decoded is a miss and
is dropped.

A cache that fails never fails a call: while the server does not answer (stopped, killed, the
network stalled: each attempt waits at most ``redis_timeout`` seconds) or refuses a command (out
of memory, wrong credentials), calls run uncached. A RuntimeWarning names the URL and the error
once per outage; the server is not asked again for ``redis_timeout`` seconds after a failure, so
that a stalled one delays one call, not every call; another warning says when it answers again.
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import cast

from lazyplug.cache import MISS
from lazyplug.config import config
from lazyplug.errors import CodecError, ServiceError

from . import settings  # noqa: F401 - declares the settings read below
from .connection import guarded, make_client, redact, split_options, timeout_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    import redis

    T = TypeVar('T')

__all__ = ['RedisStore']


class RedisStore:
    """Results in Redis; the server is the one the ``redis_url`` setting names when a call is made."""

    def __init__(self) -> None:
        self._clients: dict[str, redis.Redis] = {}
        self._lock = threading.Lock()
        self._unencodable: set[type] = set()
        self._failing: dict[str, float] = {}  # URL -> when (time.monotonic()) to ask it again

    def __repr__(self) -> str:
        return f'<RedisStore {config["redis_url"]}>'

    def _client(self) -> tuple[str, redis.Redis]:
        url = config['redis_url']
        client = self._clients.get(url)
        if client is None:
            with self._lock:
                client = self._clients.get(url)
                if client is None:
                    base, _ = split_options(url, {}, 'the redis cache strategy (the redis_url setting)')
                    client = self._clients[url] = make_client(base)
        return url, client

    def _key(self, key: str) -> str:
        return f'{config["redis_prefix"]}cache:{key}'

    def _tolerant(self, what: str, call: Callable[[redis.Redis], T], failed: T) -> T:
        """``call(client)``, or ``failed`` when the server fails it or failed a moment ago (see the module)."""
        url, client = self._client()
        if self._failing.get(url, 0.0) > time.monotonic():
            return failed
        timeout = timeout_of(client)
        try:
            result = guarded(url, f'result cache, {what}', lambda: call(client), timeout)
        except ServiceError as exc:
            if url not in self._failing:
                warnings.warn(f'calls run uncached while the result cache fails: {exc} (asked again every '
                              f'{timeout:g} s)', RuntimeWarning, stacklevel=4)
            self._failing[url] = time.monotonic() + timeout
            return failed
        if self._failing.pop(url, None) is not None:
            warnings.warn(f'the result cache at {redact(url)} answers again', RuntimeWarning, stacklevel=4)
        return result

    def get(self, key: str) -> Any:
        from lazyplug.serve.codec import loads
        name = self._key(key)
        raw = self._tolerant('reading', lambda client: cast('bytes | None', client.get(name)), None)
        if raw is None:
            return MISS
        try:
            return loads(raw)
        except CodecError:  # a corrupt entry is a miss; it is dropped (unless rewritten meanwhile)
            self._tolerant('dropping a corrupt entry', lambda client: _drop_if(client, name, raw), None)
            return MISS

    def put(self, key: str, value: Any) -> None:
        from lazyplug.serve.codec import dumps
        try:
            data = dumps(value, 'a result')
        except CodecError as exc:
            if type(value) not in self._unencodable:
                self._unencodable.add(type(value))
                warnings.warn(f'results of type {type(value).__qualname__} are not cached in Redis: {exc}',
                              RuntimeWarning, stacklevel=3)
            return
        ttl = config['redis_cache_ttl']
        name = self._key(key)
        px = max(1, int(ttl * 1000)) if ttl else None
        self._tolerant('writing', lambda client: client.set(name, data, px=px), None)

    def clear(self) -> None:
        """Drop every cached result of this prefix (other keys of the server are left alone)."""
        url, client = self._client()
        pattern = ''.join('\\' + c if c in '*?[]\\^' else c for c in self._key('')) + '*'

        def clear() -> None:
            batch = []
            for name in client.scan_iter(match=pattern, count=1000):
                batch.append(name)
                if len(batch) == 1000:
                    client.unlink(*batch)
                    batch.clear()
            if batch:
                client.unlink(*batch)

        guarded(url, 'result cache, clearing', clear)

    def close(self) -> None:
        """Close the connections (the next call opens others)."""
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()


_DROP_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def _drop_if(client: redis.Redis, name: str, raw: bytes) -> None:
    client.eval(_DROP_IF, 1, name, raw)
