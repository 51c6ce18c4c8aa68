"""The redis strategy of use_cache() against a real redis-server: hits, keys shared with the other
strategies and processes, time-to-live, corrupt entries, a restart of the server."""

import dataclasses
import time
import warnings

import pytest
from lazyplug import cache, config, package
from lazyplug.contract_tests import CacheStoreContract
from lazyplug.errors import CacheWarning
from lazyplug.module import ModuleBase

from lazyplug_redis.cache import RedisStore
from redis_helpers import finish, start_python


class Counted(ModuleBase):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.calls = 0

    def forward(self, x, scale=1):
        self.calls += 1
        return {'value': x * scale}


@pytest.fixture
def redis_cache(redis_server, prefix):
    """The redis strategy on the session's server, under this test's prefix."""
    with config.temp('cache_strategy', 'redis'), config.temp('redis_url', redis_server.url), \
            config.temp('redis_prefix', prefix):
        yield cache.get_store()


def test_the_redis_strategy_is_the_plugins_store(redis_cache):
    assert isinstance(redis_cache, RedisStore)


class TestStoreContract(CacheStoreContract):
    """What every store does (lazyplug.contract_tests), on Redis."""

    @pytest.fixture
    def store(self, redis_cache):
        return redis_cache


def test_a_repeated_call_is_served_from_the_cache(redis_cache):
    m = Counted().use_cache()
    assert m(2) == {'value': 2}
    assert m(2) == {'value': 2}
    assert m.calls == 1


def test_different_arguments_are_different_entries(redis_cache):
    m = Counted().use_cache()
    m(2)
    m(2, scale=3)
    m(2)
    assert m.calls == 2


def test_results_are_stored_under_the_cache_key_of_every_strategy(redis_cache, raw, prefix):
    m = Counted().use_cache()
    m(5)
    key = cache.cache_key(m, True, (5,), {})
    assert raw.get(f'{prefix}cache:{key}') is not None
    assert redis_cache.get(key) == {'value': 5}


@dataclasses.dataclass(repr=False)
class Shortened:
    """A value whose repr() does not show all it holds (as numpy's does for a long array)."""

    values: list

    def __repr__(self):
        return f'Shortened({len(self.values)} values)'


class Opaque:
    """An object with the default repr(), which holds its address."""

    def __init__(self, values):
        self.values = values


class Sums(ModuleBase):
    def forward(self, data):
        return sum(data.values)


def test_values_with_equal_reprs_are_different_entries(redis_cache, raw, prefix):
    m = Sums().use_cache()
    first, second = Shortened([0] * 2000), Shortened([0] * 1999 + [1])
    assert repr(first) == repr(second)
    assert m(first) == 0 and m(second) == 1
    assert len(raw.keys(f'{prefix}cache:*')) == 2


def test_a_value_that_cannot_be_keyed_by_its_content_is_not_cached_in_redis(redis_cache, raw, prefix):
    m = Sums().use_cache()
    with pytest.warns(CacheWarning, match='Opaque argument are not cached'):
        assert m(Opaque([0] * 2000)) == 0
        assert m(Opaque([0] * 1999 + [1])) == 1
    assert raw.keys(f'{prefix}cache:*') == []


@pytest.mark.parametrize('value', [
    None, 0, 1.5, 'text', b'\x00bytes', (1, 'two', (3,)), [1, [2]], {'a': (1, 2)}, {1: 'x', (2, 3): 'y'},
    {1, 2}, frozenset({'a'}), package(1, 2),
])
def test_a_value_comes_back_equal_and_of_its_type(redis_cache, value):
    redis_cache.put('k', value)
    back = redis_cache.get('k')
    assert back == value and type(back) is type(value)


def test_a_value_that_cannot_travel_is_not_cached_and_the_call_still_works(redis_cache):
    class Opaque:
        pass

    class MakesObjects(ModuleBase):
        def forward(self, x):
            return Opaque()

    m = MakesObjects().use_cache()
    with pytest.warns(RuntimeWarning, match='Opaque are not cached in Redis'):
        assert isinstance(m(1), Opaque)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # said once per type
        assert isinstance(m(1), Opaque)


def test_a_corrupt_entry_is_a_miss_and_is_rewritten(redis_cache, raw, prefix):
    m = Counted().use_cache()
    m(3)
    key = cache.cache_key(m, True, (3,), {})
    for garbage in (b'{not json', b'{"__lp__": "nonsense", "items": []}', b'\xff\xfe'):
        raw.set(f'{prefix}cache:{key}', garbage)
        assert redis_cache.get(key) is cache.MISS
        assert raw.exists(f'{prefix}cache:{key}') == 0  # dropped
    assert m(3) == {'value': 3} and m.calls == 2
    assert redis_cache.get(key) == {'value': 3}  # rewritten


def test_without_a_ttl_results_do_not_expire(redis_cache, raw, prefix):
    redis_cache.put('k', 1)
    assert raw.pttl(f'{prefix}cache:k') == -1


def test_the_ttl_setting_gives_results_a_time_to_live(redis_cache, raw, prefix):
    with config.temp('redis_cache_ttl', 30.0):
        redis_cache.put('k', 1)
    assert 0 < raw.pttl(f'{prefix}cache:k') <= 30_000


def test_clear_drops_the_results_of_its_prefix_only(redis_cache, raw, prefix):
    for i in range(2500):  # more than one batch
        redis_cache.put(f'k{i}', i)
    raw.set(f'{prefix}other', 'kept')
    raw.set(f'someone-else:{prefix}cache:k1', 'kept')
    redis_cache.clear()
    assert redis_cache.get('k1') is cache.MISS
    assert raw.keys(f'{prefix}cache:*') == []
    assert raw.get(f'{prefix}other') == b'kept' and raw.get(f'someone-else:{prefix}cache:k1') == b'kept'
    raw.delete(f'{prefix}other', f'someone-else:{prefix}cache:k1')


def test_the_store_follows_the_redis_url_setting(redis_cache, own_redis, redis_server):
    redis_cache.put('k', 'on the session server')
    with config.temp('redis_url', own_redis.url):
        assert redis_cache.get('k') is cache.MISS
        redis_cache.put('k', 'on my own server')
    assert redis_cache.get('k') == 'on the session server'


CALL_CACHED = '''
    import sys
    from lazyplug.module import ModuleBase

    class Counted(ModuleBase):
        calls = 0

        def forward(self, x, scale=1):
            Counted.calls += 1
            return {'value': x * scale}

    Counted.__module__ = 'test_cache'  # the key names the class; the parent's is test_cache.Counted
    m = Counted().use_cache()
    print(m(int(sys.argv[1])), Counted.calls)
'''


def test_a_result_cached_by_one_process_is_a_hit_in_another(redis_server, prefix, redis_cache):
    env = dict(LAZYPLUG_CACHE_STRATEGY='redis', LAZYPLUG_REDIS_URL=redis_server.url, LAZYPLUG_REDIS_PREFIX=prefix)
    first, second = finish([start_python(CALL_CACHED, 7, **env)]), finish([start_python(CALL_CACHED, 7, **env)])
    assert first == ["{'value': 7} 1\n"] and second == ["{'value': 7} 0\n"]
    m = Counted().use_cache()
    assert m(7) == {'value': 7} and m.calls == 0  # and in this process too


def test_calls_run_uncached_while_redis_is_down_and_are_cached_again_when_it_is_back(own_redis, prefix):
    with config.temp('cache_strategy', 'redis'), config.temp('redis_url', own_redis.url), \
            config.temp('redis_timeout', 0.5):
        m = Counted().use_cache()
        m(1)
        own_redis.stop()
        with pytest.warns(RuntimeWarning, match='calls run uncached while the result cache fails') as said:
            assert m(1) == {'value': 1} and m.calls == 2
        assert own_redis.url in str(said[0].message) and 'does not answer' in str(said[0].message)
        own_redis.start()  # empty
        time.sleep(0.5)  # a server that failed is asked again after redis_timeout
        with pytest.warns(RuntimeWarning, match=f'the result cache at {own_redis.url} answers again'):
            assert m(1) == {'value': 1} and m.calls == 3  # a miss: the server came back empty
        assert m(1) == {'value': 1} and m.calls == 3  # and a hit again
