"""The ``redis://`` service registry: deployed services shared by the processes of many machines.

Layout, under the key prefix (the ``prefix`` URL parameter or ``redis_prefix`` setting,
``lazyplug:`` by default):

* ``<prefix>service:<module id>``: a hash of ``owner`` (who published it: a token of the owner's
  machine and process id) and ``entry`` (the entry as JSON, with its ``node``, and the publishing
  process's machine, process id and start time), with a time-to-live (``ttl``, 10 s by default);
* ``<prefix>services``: a sorted set of the published module ids, for ``list``;
* ``<prefix>removed:<module id>``: after ``remove``, who owned the entry, for a while, so that the
  owner's renewal does not bring back an entry another process removed.

Liveness: the publishing process renews its entries every third of their time-to-live (see
``renewer``), so the entries of a process that crashed, froze or lost its network disappear within
``ttl`` seconds for every reader; a reader on the publisher's own machine also drops them at once
when the publishing process is gone. Every write that decides something (publish, renew, remove,
dropping a dead entry) is one Lua script, atomic in Redis: of two processes publishing the same
module id, exactly one wins; the other gets a ServiceConflictError naming the winner. Redis
Cluster is not supported (``list`` reads keys its script is not given).
"""

from __future__ import annotations

import json
import os
import socket
from typing import cast

from lazyplug.config import config
from lazyplug.errors import ServiceError
from lazyplug.services import ServiceEntry, conflict_error, liveness
from lazyplug.services.liveness import node_id

from . import settings
from .connection import guarded, make_client, redact, split_options, timeout_of
from .renewer import Owned, Renewer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar('T')

__all__ = ['RedisRegistry']

_PUBLISH = '''
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then
  local current = redis.call('HGET', KEYS[1], 'entry') or ''
  if ARGV[6] ~= '1' .. current then return current end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'entry', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('DEL', KEYS[3])
return false
'''
"""Publish unless another owner's entry is there (returned); ARGV[6] is '1' + the entry to replace anyway."""

_RENEW = '''
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then
  if owner ~= ARGV[1] then return 0 end
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
  return 1
end
if redis.call('GET', KEYS[3]) == ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'entry', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
return 2
'''
"""Extend our entry's life (1); write it again if it is gone but was not removed (2: Redis restarted
empty, or renewal came too late); 0 when another owner holds it or it was removed."""

_REMOVE = '''
local owner = redis.call('HGET', KEYS[1], 'owner')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if owner then redis.call('SET', KEYS[3], owner, 'PX', ARGV[2]) end
return 1
'''

_FORGET = '''
if redis.call('HGET', KEYS[1], 'entry') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
'''
"""Drop a dead entry, only if it is still the one that was read (not a newer one)."""

_LIST = '''
local found = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local entry = redis.call('HGET', ARGV[1] .. id, 'entry')
  if entry then
    found[#found + 1] = id
    found[#found + 1] = entry
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return found
'''

TOMBSTONE_TTLS = 10
"""A removal is remembered for this many entry lifetimes (its owner's renewal stops well within that)."""


def _parse_prefix(text: str) -> str:
    if not text:
        raise ValueError('expected a non-empty key prefix')
    return text


def _load(raw: bytes) -> tuple[ServiceEntry, dict[str, Any]] | None:
    """The entry stored as ``raw`` and its record; None when ``raw`` is not a valid entry."""
    try:
        record = json.loads(raw)
        entry = ServiceEntry.from_dict(record)
        if not (isinstance(entry.module_id, str) and isinstance(entry.node, str) and isinstance(entry.log, str)
                and all(isinstance(u, str) for u in entry.urls)
                and all(isinstance(p, int) for p in entry.pids) and isinstance(entry.started, (int, float))):
            return None
        return entry, record
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _dead_here(record: dict[str, Any]) -> bool:
    """Whether the process that published ``record`` ran on this machine and is gone."""
    publisher = record.get('publisher')
    # 'publisher_node': where the publisher ran; records of older versions have it as 'node' alone
    if record.get('publisher_node', record.get('node')) != node_id() or not isinstance(publisher, list) \
            or len(publisher) != 2:
        return False
    pid, started = publisher
    return isinstance(pid, int) and not liveness.alive(pid, started if isinstance(started, int) else None)


class RedisRegistry:
    """Service entries in a Redis server, for every process that opens the same URL (and prefix).

    URL: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` (TLS) or
    ``unix://[[user]:password@]/path/to/socket[?db=N]``, with optional ``ttl`` (seconds an entry
    outlives its last renewal; default: the ``redis_service_ttl`` setting, 10 s) and ``prefix``
    query parameters, and redis-py's own (``socket_timeout``...). ``url`` is the URL given, its
    password hidden.
    """

    def __init__(self, url: str) -> None:
        base, options = split_options(url, {'ttl': settings.parse_seconds, 'prefix': _parse_prefix},
                                      'a service registry')
        self.url = redact(url)
        self.ttl: float = options.get('ttl', config['redis_service_ttl'])
        self.prefix: str = options.get('prefix', config['redis_prefix'])
        self._client = make_client(base)
        self._timeout = timeout_of(self._client)
        self._scripts = {name: self._client.register_script(source) for name, source in
                         (('publish', _PUBLISH), ('renew', _RENEW), ('remove', _REMOVE), ('forget', _FORGET),
                          ('list', _LIST))}
        self._index = f'{self.prefix}services'
        self._tombstone_ms = int(self.ttl * 1000 * TOMBSTONE_TTLS)
        self._renewer = Renewer(self._renew, self.ttl / 3, self.url, self._remove)

    def __repr__(self) -> str:
        return f'<RedisRegistry {self.url} (ttl {self.ttl:g} s, prefix {self.prefix!r})>'

    def _keys(self, module_id: str) -> list[str]:
        return [f'{self.prefix}service:{module_id}', self._index, f'{self.prefix}removed:{module_id}']

    def _call(self, what: str, call: Callable[[], T]) -> T:
        return guarded(self.url, f'service registry, {what}', call, self._timeout)

    def _owner(self, owner_pid: int) -> bytes:
        return f'{node_id()}:{owner_pid}'.encode()

    @property
    def renewing(self) -> list[str]:
        """The module ids this registry object keeps alive (those it published and has not removed)."""
        return sorted(self._renewer.owned())

    def close(self) -> None:
        """Stop renewing (the entries then expire unless removed) and close the connections."""
        self._renewer.close()
        self._client.close()

    # -- the registry ------------------------------------------------------------------------------
    def publish(self, entry: ServiceEntry) -> None:
        record = {**entry.to_dict(), 'host': socket.gethostname(), 'publisher_node': node_id(),
                  'publisher': [os.getpid(), liveness.start_time(os.getpid())]}
        owned: Owned = (self._owner(entry.owner_pid), json.dumps(record).encode(), float(entry.started))
        replace = b'0'
        for _ in range(5):  # each turn replaces one dead entry; another one published meanwhile is rare
            args: list[bytes | str | float] = [owned[0], owned[1], int(self.ttl * 1000), owned[2], entry.module_id,
                                               replace]
            current = self._call(f'publishing {entry.module_id!r}', lambda: self._scripts['publish'](
                keys=self._keys(entry.module_id), args=args))  # noqa: B023 - called before the next turn
            if current is None:
                self._renewer.add(entry.module_id, owned)
                return
            loaded = _load(current)
            if loaded is not None and not _dead_here(loaded[1]):
                raise conflict_error(self.url, loaded[0], entry)
            replace = b'1' + current
        raise ServiceError(f'{entry.module_id!r} could not be published in {self.url}: dead entries kept '
                           'replacing each other')

    def lookup(self, module_id: str) -> ServiceEntry | None:
        key = self._keys(module_id)[0]
        raw = self._call(f'looking up {module_id!r}', lambda: cast('bytes | None', self._client.hget(key, 'entry')))
        if raw is None:
            return None
        loaded = _load(raw)
        if loaded is None or _dead_here(loaded[1]):
            self._forget(module_id, raw)
            return None
        return loaded[0]

    def remove(self, module_id: str) -> None:
        self._renewer.discard(module_id)
        self._remove([module_id], f'removing {module_id!r}')

    def removed(self, module_id: str) -> bool:
        """Whether ``remove()`` took ``module_id``'s entry out (word of it is kept ``10 x ttl``), rather
        than the entry expiring or being lost with Redis's data."""
        key = self._keys(module_id)[2]
        return bool(self._call(f'asking whether {module_id!r} was removed',
                               lambda: cast('int', self._client.exists(key))))

    def _remove(self, module_ids: list[str], what: str = 'removing entries at exit') -> None:
        """Remove the entries of ``module_ids`` in one round trip, leaving word of who owned them."""
        def remove() -> None:
            pipe = self._client.pipeline(transaction=False)
            for module_id in module_ids:
                self._scripts['remove'](keys=self._keys(module_id), args=[module_id, self._tombstone_ms], client=pipe)
            pipe.execute()

        self._call(what, remove)

    def _forget(self, module_id: str, raw: bytes) -> None:
        keys = self._keys(module_id)[:2]
        self._call(f'dropping the dead entry {module_id!r}',
                   lambda: self._scripts['forget'](keys=keys, args=[raw, module_id]))

    def _renew(self, owned: dict[str, Owned]) -> list[str]:
        """Renew every entry of ``owned`` in one round trip; the ids another process took or removed."""
        def renew() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for module_id, (owner, record, started) in owned.items():
                self._scripts['renew'](keys=self._keys(module_id),
                                       args=[owner, record, int(self.ttl * 1000), started, module_id], client=pipe)
            return pipe.execute()

        results = self._call('renewing entries', renew)
        return [module_id for module_id, result in zip(owned, results, strict=True) if result == 0]

    def list(self) -> list[ServiceEntry]:  # last: in the class body below it, `list` is this method
        found = self._call('listing services', lambda: self._scripts['list'](
            keys=[self._index], args=[f'{self.prefix}service:']))
        live: list[ServiceEntry] = []
        for module_id, raw in zip(found[::2], found[1::2], strict=True):
            loaded = _load(raw)
            if loaded is not None and not _dead_here(loaded[1]):
                live.append(loaded[0])
            else:
                self._forget(module_id.decode('utf-8', 'surrogateescape'), raw)
        live.sort(key=lambda e: e.started)
        return live
