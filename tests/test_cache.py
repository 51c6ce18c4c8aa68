"""use_cache(): memory, sqlite and file stores; keys; corrupt entries; modes."""

import os
import subprocess
import sys
import textwrap

import pytest

from lazyplug import cache, config, kwargs
from lazyplug.contract_tests import CacheStoreContract
from lazyplug.errors import ConfigError
from lazyplug.module import ModuleBase


class Counted(ModuleBase):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.calls = 0

    def forward(self, x, scale=1):
        self.calls += 1
        return {'value': x * scale}


@pytest.fixture(params=['memory', 'sqlite', 'file'])
def strategy(request, tmp_path):
    with config.temp('cache_strategy', request.param), config.temp('cache_dir', str(tmp_path)):
        yield request.param


class TestStoreContract(CacheStoreContract):
    """What every store does (lazyplug.contract_tests), on memory, sqlite and file."""

    @pytest.fixture
    def store(self, strategy):
        return cache.get_store()


def test_a_repeated_call_is_served_from_the_cache(strategy):
    m = Counted().use_cache()
    assert m(2) == {'value': 2}
    assert m(2) == {'value': 2}
    assert m.calls == 1


def test_different_arguments_are_different_entries(strategy):
    m = Counted().use_cache()
    m(2)
    m(2, scale=3)
    m(kwargs(x=2, scale=3))  # the same values passed by keyword: keyed by the call as made
    m(kwargs(scale=3, x=2))
    assert m.calls == 3


def test_the_key_does_not_depend_on_dict_order_or_the_instance():
    a, b = Counted(), Counted()
    assert cache.cache_key(a, True, ({'x': 1, 'y': 2},), {}) == cache.cache_key(b, True, ({'y': 2, 'x': 1},), {})
    assert cache.cache_key(a, 'tag', (1,), {}) != cache.cache_key(a, True, (1,), {})
    assert cache.cache_key(a, True, (1,), {}) != cache.cache_key(a, True, ('1',), {})


def test_hooks_still_run_on_a_cache_hit(strategy):
    seen = []
    m = Counted().use_cache()
    m.register_hook(lambda x: seen.append(x))
    m(1)
    m(1)
    assert seen == [1, 1] and m.calls == 1


@pytest.mark.parametrize('kind', ['sqlite', 'file'])
def test_a_corrupt_entry_is_a_miss_not_a_crash(kind, tmp_path):
    with config.temp('cache_strategy', kind), config.temp('cache_dir', str(tmp_path)):
        m = Counted().use_cache()
        m(3)
        key = cache.cache_key(m, True, (3,), {})
        store = cache.get_store()
        if kind == 'sqlite':
            store._connection().execute('UPDATE results SET value = ? WHERE key = ?', (b'not a pickle', key))
        else:
            with open(store._path(key), 'wb') as f:
                f.write(b'\x80\x04garbage')
        assert m(3) == {'value': 3}
        assert m.calls == 2
        assert store.get(key) == {'value': 3}  # rewritten


def test_the_disk_caches_are_shared_between_processes(tmp_path):
    script = textwrap.dedent('''
        import sys, lazyplug
        class Slow(lazyplug.ModuleBase):
            def forward(self, x):
                print('computed', flush=True)
                return x * 2
        print(Slow().use_cache()(21))
    ''')
    env = {**os.environ, 'LAZYPLUG_CACHE_STRATEGY': 'sqlite', 'LAZYPLUG_CACHE_DIR': str(tmp_path)}
    runs = [subprocess.run([sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=60)
            for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [['computed', '42'], ['42']], [r.stderr for r in runs]


def test_cache_modes(strategy):
    m = Counted().use_cache()
    with config.temp('cache_mode', 'WO'):
        m(1)
        m(1)
    assert m.calls == 2
    with config.temp('cache_mode', 'RO'):
        m(1)
        m(5)
        m(5)
    assert m.calls == 4
    with config.temp('cache_mode', 'NONE'):
        m(1)
    assert m.calls == 5


def test_use_cache_false_turns_it_off():
    m = Counted().use_cache().use_cache(False)
    m(1)
    m(1)
    assert m.calls == 2


def test_an_unknown_strategy_is_a_clear_error():
    with config.temp('cache_strategy', 'nowhere'):
        with pytest.raises(ConfigError, match="no cache strategy 'nowhere'"):
            Counted().use_cache()(1)


def test_a_plugin_adds_a_strategy_through_lazyplug_register_cache_stores(tmp_path):
    from lazyplug import hookimpl, plugins

    class Recording(cache.MemoryStore):
        puts = []

        def put(self, key, value):
            self.puts.append(value)
            super().put(key, value)

    class Plugin:
        @hookimpl
        def lazyplug_register_cache_stores(self, register):
            register('recording', Recording)

    plugins.register(Plugin(), name='recording-cache')
    with config.temp('cache_strategy', 'recording'), config.temp('cache_dir', str(tmp_path)):
        m = Counted().use_cache()
        m(7)
        m(7)
    assert Recording.puts == [{'value': 7}] and m.calls == 1
