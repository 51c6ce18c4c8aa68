"""The settings lazyplug-redis adds to ``lazyplug.config`` (each read from ``LAZYPLUG_<NAME>``).

Importing this module declares them; every module of the plugin that reads one imports it first.
"""

from __future__ import annotations

from lazyplug.config import config

__all__ = ['parse_nonnegative', 'parse_seconds']

MIN_TTL = 0.3
"""The shortest registry entry lifetime: renewing more often than every 0.1 s would be a busy loop."""


def parse_seconds(text: str) -> float:
    """A number of seconds of at least ``MIN_TTL`` (a lifetime or a timeout)."""
    value = float(text)
    if not value >= MIN_TTL or value == float('inf'):
        raise ValueError(f'expected a number of seconds of at least {MIN_TTL:g}')
    return value


def parse_nonnegative(text: str) -> float:
    """A finite number of seconds, 0 or more."""
    value = float(text)
    if not 0 <= value < float('inf'):
        raise ValueError('expected a number of seconds, 0 or more')
    return value


config.add('redis_url', str, 'redis://localhost:6379/0',
           'the Redis server of the redis cache strategy (redis://[[user]:password@]host[:port][/db], '
           'rediss://..., unix:///path/to/socket?db=N)')
config.add('redis_timeout', float, 5.0, 'seconds a Redis call (or connection attempt) waits before it fails',
           parse=parse_seconds)
config.add('redis_service_ttl', float, 10.0, 'seconds a Redis service registry entry outlives the last renewal '
           'by its process (which renews it every third of that); the URL parameter ?ttl= overrides it',
           parse=parse_seconds)
config.add('redis_cache_ttl', float, 0.0, 'seconds a result cached in Redis is kept (0: until cleared)',
           parse=parse_nonnegative)
config.add('redis_prefix', str, 'lazyplug:', 'the prefix of every Redis key lazyplug-redis writes; the URL '
           'parameter ?prefix= overrides it for a registry')
