"""Unit tests beside the real-server ones: URLs, liveness rules, settings, the plugin's loading,
and the registry's scripts on fakeredis (a stand-in for checks of single branches, never instead
of the tests against redis-server)."""

import json
import os
import subprocess
import sys

import fakeredis
import pytest
from lazyplug import config, plugins
from lazyplug.contract_tests import make_entry
from lazyplug.errors import ConfigError
from lazyplug.services.liveness import node_id

from lazyplug_redis import registry as registry_module
from lazyplug_redis.connection import redact, split_options
from lazyplug_redis.registry import RedisRegistry, _dead_here
from redis_helpers import child_env


@pytest.mark.parametrize('url, shown', [
    ('redis://localhost:6379/0', 'redis://localhost:6379/0'),
    ('redis://:pw@localhost:6379/0', 'redis://:***@localhost:6379/0'),
    ('rediss://admin:p%40ss@host/2?ttl=5', 'rediss://admin:***@host/2?ttl=5'),
    ('unix://:pw@/run/redis.sock?db=1', 'unix://:***@/run/redis.sock?db=1'),
    ('unix:///run/redis.sock', 'unix:///run/redis.sock'),
])
def test_redact_hides_the_password_only(url, shown):
    assert redact(url) == shown


def test_split_options_takes_its_own_parameters_and_leaves_redis_pys():
    base, options = split_options('redis://h:1/0?ttl=5&socket_timeout=2&prefix=p:', {'ttl': float, 'prefix': str},
                                  'a test')
    assert base == 'redis://h:1/0?socket_timeout=2' and options == {'ttl': 5.0, 'prefix': 'p:'}


def test_split_options_keeps_a_unix_socket_path_whole():
    assert split_options('unix:///tmp/r.sock?db=2&ttl=1', {'ttl': float}, 'a test') == \
        ('unix:///tmp/r.sock?db=2', {'ttl': 1.0})


def test_an_unknown_parameter_is_named_with_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown query parameter 'colour'.*valid: ttl, .*socket_timeout"):
        split_options('redis://h/0?colour=red', {'ttl': float}, 'a test')


def test_a_record_is_dead_here_only_if_published_on_this_node_by_a_process_that_is_gone():
    gone = subprocess.Popen([sys.executable, '-c', 'pass'])
    gone.wait()
    me = [os.getpid(), None]
    assert not _dead_here({'node': node_id(), 'publisher': me})
    assert _dead_here({'node': node_id(), 'publisher': [gone.pid, None]})
    assert not _dead_here({'node': 'elsewhere', 'publisher': [gone.pid, None]})
    # the entry's node says where its pids are; the publisher's own is 'publisher_node'
    assert _dead_here({'node': 'elsewhere', 'publisher_node': node_id(), 'publisher': [gone.pid, None]})
    assert not _dead_here({'node': node_id(), 'publisher_node': 'elsewhere', 'publisher': [gone.pid, None]})
    for malformed in (None, 'x', [gone.pid], ['x', None]):
        assert not _dead_here({'node': node_id(), 'publisher': malformed})


@pytest.mark.parametrize('name, text', [('redis_service_ttl', '0.1'), ('redis_timeout', 'never'),
                                        ('redis_cache_ttl', '-1'), ('redis_service_ttl', 'inf')])
def test_a_bad_setting_is_a_config_error_naming_the_variable(monkeypatch, name, text):
    monkeypatch.setenv(f'LAZYPLUG_{name.upper()}', text)
    config.reload(name)
    with pytest.raises(ConfigError, match=f'LAZYPLUG_{name.upper()}'):
        config[name]


def test_the_plugin_is_loaded_from_its_entry_point():
    info = {p.name: p for p in plugins.list_plugins()}['redis']
    assert info.status == 'loaded' and info.distribution == 'lazyplug-redis'
    assert set(info.hooks) == {'lazyplug_register_service_registries', 'lazyplug_register_cache_stores'}


def test_the_plugin_registers_its_registry_schemes_and_its_cache_strategy():
    from lazyplug import factories
    assert factories.registry_schemes()[-3:] == ['redis', 'rediss', 'unix']
    assert factories.cache_strategies()[-1] == 'redis'


def test_the_lazyplug_command_lists_the_schemes_and_the_strategy():
    command = os.path.join(os.path.dirname(sys.executable), 'lazyplug')
    done = subprocess.run([command, 'plugins', '--json'], env=child_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [mine] = [c for c in json.loads(done.stdout) if c['distribution'] == 'lazyplug-redis']
    assert (mine['registry_schemes'], mine['cache_strategies']) == (['redis', 'rediss', 'unix'], ['redis'])
    assert [(p['name'], p['status']) for p in mine['hook_plugins']] == [('redis', 'loaded')]


def printed_by(code):
    """The words ``code`` prints in a new Python process (with this test's plugins)."""
    result = subprocess.run([sys.executable, '-c', code], env=child_env(), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_neither_importing_lazyplug_nor_loading_the_plugin_imports_redis():
    assert printed_by('import sys, lazyplug; from lazyplug import plugins; plugins.get_plugin_manager(); '
                      'print("redis" in sys.modules, "lazyplug_redis.plugin" in sys.modules)') == ['False', 'True']


# -- the scripts, branch by branch, on fakeredis ---------------------------------------------------

@pytest.fixture
def fake(monkeypatch):
    server = fakeredis.FakeServer()
    monkeypatch.setattr(registry_module, 'make_client', lambda url: fakeredis.FakeRedis(server=server))
    made = RedisRegistry('redis://fake/0?ttl=60')
    yield made, fakeredis.FakeRedis(server=server)
    made.close()


def test_renewal_writes_back_an_entry_lost_with_a_restart(fake):
    registry, raw = fake
    registry.publish(make_entry('m1'))
    raw.flushall()
    assert registry._renew(registry._renewer.owned()) == []
    assert registry.lookup('m1') == make_entry('m1', started=registry.lookup('m1').started)
    assert 0 < raw.pttl('lazyplug:service:m1') <= 60_000


def test_renewal_gives_up_an_entry_another_owner_holds(fake):
    registry, raw = fake
    registry.publish(make_entry('m1'))
    raw.hset('lazyplug:service:m1', 'owner', 'someone else')
    assert registry._renew(registry._renewer.owned()) == ['m1']


def test_renewal_gives_up_a_removed_entry_and_remove_leaves_word_of_its_owner(fake):
    registry, raw = fake
    registry.publish(make_entry('m1'))
    owned = registry._renewer.owned()
    registry.remove('m1')
    assert raw.get('lazyplug:removed:m1') == owned['m1'][0]
    assert registry._renew(owned) == ['m1']
    assert raw.exists('lazyplug:service:m1') == 0


def test_publishing_again_clears_the_word_of_a_removal(fake):
    registry, raw = fake
    registry.publish(make_entry('m1'))
    registry.remove('m1')
    registry.publish(make_entry('m1'))
    assert raw.exists('lazyplug:removed:m1') == 0


def test_an_id_in_the_index_whose_entry_expired_is_dropped_from_it(fake):
    registry, raw = fake
    registry.publish(make_entry('m1'))
    raw.delete('lazyplug:service:m1')
    assert registry.list() == []
    assert raw.zrange('lazyplug:services', 0, -1) == []


def test_the_plugins_settings_can_be_set_before_any_hook_has_run():
    printed = printed_by('import lazyplug; lazyplug.config["redis_cache_ttl"] = 5.0; '
                         'print(lazyplug.config["redis_cache_ttl"], lazyplug.config["redis_prefix"])')
    assert printed == ['5.0', 'lazyplug:']


@pytest.mark.parametrize('ci, outcome', [('true', pytest.fail.Exception), ('', pytest.skip.Exception)])
def test_without_redis_server_the_tests_fail_under_ci_and_are_skipped_elsewhere(monkeypatch, ci, outcome):
    import redis_helpers
    monkeypatch.setattr(redis_helpers, 'find_redis_server', lambda: None)
    monkeypatch.setenv('CI', ci)
    with pytest.raises(outcome, match=r'redis-server is not installed.*apt-get install redis-server'):
        redis_helpers.require_redis_server()
