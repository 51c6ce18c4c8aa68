"""The Redis registry and cache under faults: the network to Redis stalled (a proxy of the test's own
that stops forwarding), Redis killed in the middle of a call, keys evicted, memory full. Calls keep
working from what is known, errors name the URL, nothing waits longer than the socket timeout, and
entries come back when Redis does."""

import contextlib
import subprocess
import sys
import time
import warnings

import pytest
import redis
from lazyplug import ServerModule, config
from lazyplug.contract_tests import make_entry
from lazyplug.errors import TaskFailedError
from lazyplug.module import ModuleBase
from lazyplug.services import get_registry

from lazyplug_redis.connection import RedisUnavailableError
from lazyplug_redis.registry import RedisRegistry
from lazyplug_redis.server import RedisServer
from redis_helpers import StallingProxy, child_env, require_redis_server, wait_until

TIMEOUT = 1.0
"""The socket timeout of these tests' clients."""

WITHIN_TIMEOUT = 1.8 * TIMEOUT
"""How long a call that gets no answer may take: its one timeout, and room for a busy machine (not a
second timeout: that would be a call tried again)."""


@pytest.fixture
def proxy(own_redis):
    """A proxy to the test's own redis-server, which the test may stall."""
    made = StallingProxy(own_redis.port)
    yield made
    made.close()


@pytest.fixture
def short_timeout():
    with config.temp('redis_timeout', TIMEOUT):
        yield


@pytest.fixture
def direct(own_redis):
    """A plain redis-py client of the test's own server, not through the proxy."""
    client = redis.Redis.from_url(own_redis.url)
    yield client
    client.close()


class Counted(ModuleBase):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x * 2


@contextlib.contextmanager
def within(seconds, what):
    """Fail if the with-block takes ``seconds`` or more (a bound on waiting, not a measurement)."""
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f'{what} took {elapsed:.2f} s, with a socket timeout of {TIMEOUT:g} s'


# -- the network stalls -------------------------------------------------------------------------------

def test_a_registry_call_through_a_stalled_network_fails_within_the_timeout_naming_the_url(proxy, short_timeout):
    registry = RedisRegistry(proxy.url)
    try:
        registry.publish(make_entry('m1'))
        proxy.stall()
        with within(WITHIN_TIMEOUT, 'a look-up'), pytest.raises(RedisUnavailableError) as info:
            registry.lookup('m1')
        assert proxy.url in str(info.value) and f'waits at most {TIMEOUT:g} s' in str(info.value)
        with within(WITHIN_TIMEOUT, 'a listing'), pytest.raises(RedisUnavailableError):
            registry.list()
        proxy.resume()
        assert registry.lookup('m1') is not None  # the same object, working again
    finally:
        proxy.resume()
        registry.close()


def test_entries_that_expired_while_the_network_stalled_come_back(proxy, direct, short_timeout):
    registry = RedisRegistry(proxy.url + '?ttl=1')
    try:
        registry.publish(make_entry('m1'))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)  # the renewer's "could not renew"
            proxy.stall()
            wait_until(lambda: not direct.exists('lazyplug:service:m1'), what='the entry to expire')
            proxy.resume()
            wait_until(lambda: direct.exists('lazyplug:service:m1'), what='the entry to come back')
        assert registry.lookup('m1') is not None
    finally:
        proxy.resume()
        registry.close()


def test_a_served_module_keeps_answering_while_the_network_to_its_registry_stalls(proxy, short_timeout):
    with config.temp('registry', proxy.url):
        served = ServerModule(lambda text: text.upper(), launcher='thread')
        served.start()
        try:
            assert served('before') == 'BEFORE'
            proxy.stall()
            assert served('during') == 'DURING'  # its URLs are known: Redis is not asked
            another = ServerModule(lambda text: text, launcher='thread')
            # a deploy must publish: it fails, in time, and leaves nothing running
            with within(WITHIN_TIMEOUT + 1, 'a deploy'), pytest.raises(TaskFailedError, match=proxy.url):
                another.start()
            assert not another._impl._urls
            proxy.resume()
            assert served('after') == 'AFTER'
        finally:
            proxy.resume()
            served.stop()


def test_a_cached_module_keeps_answering_while_the_network_to_its_cache_stalls(proxy, short_timeout, prefix):
    with config.temp('cache_strategy', 'redis'), config.temp('redis_url', proxy.url), \
            config.temp('redis_prefix', prefix):
        m = Counted().use_cache()
        assert m(1) == 2 and m(1) == 2 and m.calls == 1
        proxy.stall()
        failed = f'calls run uncached while the result cache fails: .*{proxy.url}'
        with within(WITHIN_TIMEOUT, 'a call'), pytest.warns(RuntimeWarning, match=failed):
            assert m(1) == 2  # one timeout: the read; the write is not tried
        assert m.calls == 2
        with within(TIMEOUT / 2, 'the next call'), warnings.catch_warnings():
            warnings.simplefilter('error')  # said once per outage
            assert m(5) == 10  # not asked again at once
        assert m.calls == 3
        proxy.resume()
        time.sleep(TIMEOUT)  # until it is asked again
        with pytest.warns(RuntimeWarning, match='answers again'):
            assert m(7) == 14
        assert m(7) == 14 and m.calls == 4  # cached again


def test_a_command_through_a_stalled_network_fails_within_the_timeout(proxy, app_env):
    proxy.stall()
    try:
        with within(WITHIN_TIMEOUT + 10, 'lazyplug ps'):  # plus starting Python and lazyplug
            result = subprocess.run([sys.executable, '-m', 'lazyplug', 'ps', '--registry', proxy.url], env=app_env,
                                    capture_output=True, text=True, timeout=60)
    finally:
        proxy.resume()
    assert result.returncode == 1 and proxy.url in result.stderr and 'does not answer' in result.stderr


@pytest.fixture
def app_env():
    return child_env(LAZYPLUG_REDIS_TIMEOUT=str(TIMEOUT))


# -- Redis is killed -----------------------------------------------------------------------------------

def test_redis_killed_during_a_cached_call_does_not_fail_the_call(own_redis, short_timeout, prefix):
    class KillsRedis(Counted):
        def forward(self, x):
            own_redis.kill()
            return super().forward(x)

    with config.temp('cache_strategy', 'redis'), config.temp('redis_url', own_redis.url):
        m = KillsRedis().use_cache()
        with pytest.warns(RuntimeWarning, match=f'result cache fails: .*{own_redis.url}'):
            assert m(1) == 2  # its result could not be written: the call still returns it
        own_redis.start()  # empty
        time.sleep(TIMEOUT)
        with pytest.warns(RuntimeWarning, match='answers again'):
            m.forward = lambda x: Counted.forward(m, x)  # no more killing
            assert m(1) == 2
        assert m(1) == 2 and m.calls == 2


def test_redis_killed_during_a_call_of_a_served_module_its_entry_comes_back_with_redis(own_redis, short_timeout):
    def kills_redis(text):
        own_redis.kill()
        return text.upper()

    registry_url = own_redis.url + '?ttl=1'
    with config.temp('registry', registry_url):
        served = ServerModule(kills_redis, launcher='thread')
        served.start()
        module_id = served._impl._module_id
        try:
            assert served('x') == 'X'
            assert served('again') == 'AGAIN'  # from what is known
            with pytest.raises(RedisUnavailableError, match=own_redis.url):
                get_registry().lookup(module_id)
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)  # the renewer's "could not renew"
                own_redis.start()  # empty
                wait_until(lambda: get_registry().lookup(module_id) is not None, what='the entry to come back')
        finally:
            served.stop()


# -- keys evicted, memory full --------------------------------------------------------------------------

@pytest.fixture
def small_redis(tmp_path_factory, request):
    """A redis-server of 2 MB, evicting keys by ``request.param`` (a maxmemory policy) when full."""
    server = RedisServer(require_redis_server(), str(tmp_path_factory.mktemp('small-redis')), '--maxmemory', '2mb',
                         '--maxmemory-policy', request.param).start()
    yield server
    server.stop()


def fill(client, until, what):
    """Write 10 kB values to ``client``'s server until ``until()`` holds."""
    for i in range(10_000):
        if until():
            return
        try:
            client.set(f'filler:{i}', b'x' * 10_000)
        except redis.exceptions.OutOfMemoryError:
            pass
    raise AssertionError(f'{what} did not happen')


def refuses_writes(client):
    """Whether ``client``'s server refuses to write (it is full)."""
    try:
        client.set('probe', b'x' * 10_000)
    except redis.exceptions.OutOfMemoryError:
        return True
    return False


@pytest.mark.parametrize('small_redis', ['allkeys-lru'], indirect=True)
def test_an_evicted_registry_entry_comes_back(small_redis, short_timeout):
    client = redis.Redis.from_url(small_redis.url)
    registry = get_registry(small_redis.url + '?ttl=1')
    try:
        registry.publish(make_entry('m1'))
        fill(client, lambda: not client.exists('lazyplug:service:m1'), 'the eviction of the entry')
        wait_until(lambda: registry.lookup('m1') is not None, what='the entry to come back')
        assert [e.module_id for e in registry.list()] == ['m1']
    finally:
        client.close()


@pytest.mark.parametrize('small_redis', ['noeviction'], indirect=True)
def test_a_cache_whose_redis_is_full_does_not_fail_calls(small_redis, short_timeout, prefix):
    client = redis.Redis.from_url(small_redis.url)
    try:
        fill(client, lambda: refuses_writes(client), 'filling the memory')
        with config.temp('cache_strategy', 'redis'), config.temp('redis_url', small_redis.url):
            m = Counted().use_cache()
            with pytest.warns(RuntimeWarning, match=f'result cache fails: .*{small_redis.url}.*OutOfMemoryError'):
                assert m(21) == 42
            assert m(21) == 42 and m.calls == 2
    finally:
        client.close()
