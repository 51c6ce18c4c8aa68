"""lazyplug-redis figures, each beside baselines measured in the same run.

Run:  python benchmarks/bench_redis.py [--quick]      (needs lazyplug-redis and redis-server)

* service registry: publish and look-up latency on Redis (TCP and unix socket, a redis-server
  this script starts on 127.0.0.1) beside the built-in SQLite (a file in a temporary directory)
  and memory registries;
* result cache: the latency of a hit (``store.get``) and of a write on Redis beside the memory
  (and SQLite) stores, for a small result.

Goals (loopback, one client thread): a Redis registry look-up and a Redis cache hit within 1 ms
at the median; Redis publish within 2 ms at the median.
"""

from __future__ import annotations

import os

# The core and this plugin alone: other installed plugins would add the cost of their hooks.
os.environ.setdefault('LAZYPLUG_PLUGINS', 'redis')

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench_core import Row, ms, print_goals, print_table, us

import lazyplug
from lazyplug.services import ServiceEntry, get_registry


def latencies(call: Callable[[int], object], count: int) -> tuple[float, float]:
    """Median and 99th percentile (s) of ``count`` calls ``call(i)``, after a short warm-up."""
    for i in range(min(200, count)):
        call(i)
    times = []
    for i in range(count):
        began = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - began)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def registry_figures(url: str, count: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(publish, look-up) latencies of the registry at ``url``: ``count`` module ids published, then looked up."""
    registry = get_registry(url)
    pid, now = os.getpid(), time.time()
    entries = [ServiceEntry(f'bench-{i}', [f'http://127.0.0.1:{9000 + i % 1000}'], [pid], now, 'bench', pid)
               for i in range(count + 200)]
    try:
        publish = latencies(lambda i: registry.publish(entries[i]), count)
        lookup = latencies(lambda i: registry.lookup(entries[i].module_id), count)
    finally:
        for entry in entries:
            registry.remove(entry.module_id)
        close = getattr(registry, 'close', None)
        if close is not None:
            close()
    return publish, lookup


def cache_figures(strategy: str, count: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(hit, write) latencies of the result cache ``strategy`` for a small result."""
    from lazyplug.cache import get_store
    store: Any = get_store(strategy)
    value = {'answer': 'a short generated text of some sixty characters, say', 'tokens': 12, 'score': 0.93}
    keys = [f'{i:064x}' for i in range(count + 200)]
    try:
        write = latencies(lambda i: store.put(keys[i], value), count)
        hit = latencies(lambda i: store.get(keys[i]), count)
    finally:
        store.clear()
    return hit, write


def short(seconds: float) -> str:
    return us(seconds) if seconds < 1e-3 else ms(seconds)


def pair(figures: tuple[float, float]) -> str:
    return f'{short(figures[0])} / {short(figures[1])}'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='fewer calls: faster, noisier')
    count = 1000 if parser.parse_args(argv).quick else 5000
    from lazyplug_redis.server import RedisServer, find_redis_server
    executable = find_redis_server()
    if executable is None:
        print('redis-server is not installed (Debian: apt-get install redis-server)', file=sys.stderr)
        return 2
    import redis
    started = time.perf_counter()
    print(f'lazyplug {lazyplug.__version__}, redis-py {redis.__version__}, Python {sys.version.split()[0]}; '
          f'{count} calls per figure (median / p99)')
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(executable, tmp).start()
        try:
            version = redis.Redis.from_url(server.url).info('server')['redis_version']
            print(f'redis-server {version} on 127.0.0.1:{server.port} and {server.unix_url}')
            lazyplug.config['cache_dir'] = os.path.join(tmp, 'cache')
            lazyplug.config['redis_url'] = server.url
            memory = registry_figures('memory://bench', count)
            sqlite = registry_figures(f'sqlite://{tmp}/services.sqlite', count)
            over_tcp = registry_figures(server.url + '?prefix=bench:', count)
            over_unix = registry_figures(server.unix_url + '&prefix=bench:', count)
            cache_memory, cache_sqlite, cache_redis = (cache_figures(s, count) for s in ('memory', 'sqlite', 'redis'))
            lazyplug.config['redis_url'] = server.unix_url
            lazyplug.cache.get_store('redis').close()  # connect afresh, over the socket
            cache_unix = cache_figures('redis', count)
        finally:
            server.stop()

    registry_rows = []
    for what, index in (('publish', 0), ('look-up', 1)):
        goal = 2e-3 if index == 0 else 1e-3
        for label, figures in (('Redis (TCP)', over_tcp), ('Redis (unix socket)', over_unix)):
            registry_rows.append(Row(
                f'{what}: {label}', pair(figures[index]),
                f'SQLite {us(sqlite[index][0])}, memory {us(memory[index][0])}',
                figures[index][0] / sqlite[index][0], f'p50 <= {goal * 1e3:g} ms', figures[index][0] <= goal))
        registry_rows.append(Row(f'{what}: SQLite', pair(sqlite[index]), f'memory {us(memory[index][0])}',
                                 sqlite[index][0] / memory[index][0]))
        registry_rows.append(Row(f'{what}: memory', pair(memory[index]), '', None))
    print_table('Service registry, one client thread (ratio: Redis to SQLite; SQLite to memory)', registry_rows)

    cache_rows = []
    for what, index in (('hit', 0), ('write', 1)):
        for label, figures in (('Redis (TCP)', cache_redis), ('Redis (unix socket)', cache_unix)):
            is_goal = index == 0
            cache_rows.append(Row(
                f'{what}: {label}', pair(figures[index]), f'memory {us(cache_memory[index][0])}',
                figures[index][0] / cache_memory[index][0], 'p50 <= 1 ms' if is_goal else 'report',
                figures[index][0] <= 1e-3 if is_goal else None))
        cache_rows.append(Row(f'{what}: SQLite', pair(cache_sqlite[index]), f'memory {us(cache_memory[index][0])}',
                              cache_sqlite[index][0] / cache_memory[index][0]))
        cache_rows.append(Row(f'{what}: memory', pair(cache_memory[index]), '', None))
    print_table('Result cache, a small dict, one client thread (ratio: to memory)', cache_rows)

    print_goals([*registry_rows, *cache_rows], started)
    return 0


if __name__ == '__main__':
    sys.exit(main())
