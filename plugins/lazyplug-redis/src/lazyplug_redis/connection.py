"""Redis URLs, clients, and the errors of a Redis server that does not answer.

Every client this plugin makes has socket timeouts (the ``redis_timeout`` setting, or the URL's
``socket_timeout`` / ``socket_connect_timeout``) and one immediate retry on a fresh connection
when the connection fails (not when it times out): a connection left over from before a Redis
restart fails once and is replaced, so calls work again as soon as the server is back, and a
server that is gone or does not answer (stopped, frozen, the network stalled) fails a call within
the timeout instead of hanging. redis-py's errors become lazyplug's: :class:`RedisUnavailableError` (a
:class:`~lazyplug.errors.ServiceUnavailableError`) when the server does not answer, lazyplug's
``AuthenticationError`` when it refuses the credentials, ``ServiceError`` otherwise; each names
the URL (its password hidden) and what to check, and keeps redis-py's error as ``__cause__``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lazyplug.config import config
from lazyplug.errors import AuthenticationError, ConfigError, ServiceError, ServiceUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    import redis

    T = TypeVar('T')

__all__ = ['SCHEMES', 'RedisUnavailableError', 'guarded', 'make_client', 'redact', 'split_options', 'timeout_of']

SCHEMES = ('redis://', 'rediss://', 'unix://')
"""The URL schemes this plugin serves (those of redis-py)."""

# Query parameters that redis-py reads from a URL; anything else would reach its connection class as
# an unexpected keyword argument and fail at the first command, far from the URL that caused it.
_REDIS_PARAMETERS = frozenset({
    'db', 'socket_timeout', 'socket_connect_timeout', 'socket_read_size', 'socket_keepalive', 'retry_on_timeout',
    'max_connections', 'health_check_interval', 'ssl_check_hostname', 'ssl_min_version', 'timeout', 'protocol',
    'client_name', 'ssl_cert_reqs', 'ssl_ca_certs', 'ssl_certfile', 'ssl_keyfile', 'ssl_ca_path',
})


class RedisUnavailableError(ServiceUnavailableError):
    """The Redis server at ``url`` (password hidden) does not answer: down, unreachable, or too slow."""

    def __init__(self, message: str, *, url: str = '') -> None:
        super().__init__(message)
        self.url = url


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: fit for messages and listings."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    user = parts.username or ''
    host = parts.netloc.rpartition('@')[2]
    return urlunsplit(parts._replace(netloc=f'{user}:***@{host}'))


def split_options(url: str, own: dict[str, Callable[[str], Any]], what: str) -> tuple[str, dict[str, Any]]:
    """``url`` without the query parameters named in ``own``, and their values parsed by ``own[name]``.

    The other parameters stay for redis-py; one it does not know, a bad value or a URL of another
    scheme is a ConfigError naming the URL (password hidden) and what would be valid.
    """
    shown = redact(url)
    if not url.startswith(SCHEMES):
        raise ConfigError(f'{shown!r} is not a Redis URL for {what}: expected redis://[[user]:password@]host[:port]'
                          '[/db], rediss://... (TLS) or unix://[[user]:password@]/path/to/socket[?db=N]')
    try:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        _ = parts.port  # a port that is not a number raises here, not at the first command
    except ValueError as exc:
        raise ConfigError(f'bad Redis URL {shown!r} for {what}: {exc}') from None
    if parts.fragment:
        raise ConfigError(f'bad Redis URL {shown!r} for {what}: it has a fragment (#...)')
    options: dict[str, Any] = {}
    kept = []
    for name, value in pairs:
        if name in own:
            try:
                options[name] = own[name](value)
            except ValueError as exc:
                raise ConfigError(f'bad value {value!r} for {name!r} in the Redis URL {shown!r} ({what}): {exc}') \
                    from None
        elif name in _REDIS_PARAMETERS:
            kept.append((name, value))
        else:
            valid = ', '.join(sorted(own) + sorted(_REDIS_PARAMETERS))
            raise ConfigError(f'unknown query parameter {name!r} in the Redis URL {shown!r} ({what}); valid: {valid}')
    # not urlunsplit: it would turn unix:///path into unix:/path, which redis-py rejects
    base = url.split('?', 1)[0]
    return (f'{base}?{urlencode(kept)}' if kept else base), options


def make_client(url: str) -> redis.Redis:
    """A redis-py client for ``url`` (already stripped of lazyplug's own query parameters)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeout = config['redis_timeout']
    # a timeout is not tried again: a server that did not answer within it would double the wait
    retry = Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,))
    try:
        # the URL's own socket_timeout / socket_connect_timeout, if given, win over these
        return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=retry,
                                    decode_responses=False)
    except ValueError as exc:
        raise ConfigError(f'bad Redis URL {redact(url)!r}: {exc}') from None


def timeout_of(client: redis.Redis) -> float:
    """The seconds ``client`` waits for an answer (its socket timeout)."""
    return float(client.connection_pool.connection_kwargs.get('socket_timeout') or config['redis_timeout'])


def guarded(url: str, what: str, call: Callable[[], T], timeout: float | None = None) -> T:
    """``call()``, with redis-py's errors turned into lazyplug's, naming ``url``, ``what`` it was
    for and ``timeout``, the seconds it waited (default: the ``redis_timeout`` setting)."""
    import redis.exceptions as rex

    try:
        return call()
    except rex.AuthenticationError as exc:
        raise AuthenticationError(f'the Redis server at {redact(url)} ({what}) refused the credentials: {exc}; '
                                  'check the user name and password in the URL') from exc
    except (rex.ConnectionError, rex.TimeoutError) as exc:
        raise RedisUnavailableError(
            f'the Redis server at {redact(url)} ({what}) does not answer: {str(exc).rstrip(".")}. Check that '
            "redis-server is running there and reachable from this machine, and the URL's host, port (or socket "
            f'path) and database; a call waits at most {config["redis_timeout"] if timeout is None else timeout:g} s '
            '(the redis_timeout setting, LAZYPLUG_REDIS_TIMEOUT)', url=redact(url)) from exc
    except rex.RedisError as exc:
        raise ServiceError(f'the Redis server at {redact(url)} ({what}) failed: {type(exc).__name__}: {exc}') \
            from exc
