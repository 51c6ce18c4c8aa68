"""lazyplug.config: settings from LAZYPLUG_* variables, temp(), errors."""

import pickle

import pytest

from lazyplug import config
from lazyplug.errors import ConfigError


@pytest.fixture
def fresh(monkeypatch):
    yield monkeypatch
    config.reload()


def test_a_setting_reads_its_environment_variable(fresh):
    fresh.setenv('LAZYPLUG_WORKERS', '4')
    config.reload('workers')
    assert config['workers'] == 4 and config.workers == 4


def test_booleans_accept_the_usual_spellings(fresh):
    for text, value in (('1', True), ('yes', True), ('off', False), ('0', False)):
        fresh.setenv('LAZYPLUG_REPR_SHOW_CHILD', text)
        config.reload('repr_show_child')
        assert config['repr_show_child'] is value


def test_a_bad_value_names_the_variable_and_what_is_valid(fresh):
    fresh.setenv('LAZYPLUG_WORKERS', 'many')
    config.reload('workers')
    with pytest.raises(ConfigError, match="LAZYPLUG_WORKERS='many' is not valid for setting 'workers'"):
        config['workers']
    fresh.setenv('LAZYPLUG_WORKERS', '0')
    config.reload('workers')
    with pytest.raises(ConfigError, match='at least 1'):
        config['workers']


def test_temp_sets_a_value_for_a_block_and_restores_it():
    before = config['workers']
    with config.temp('workers', 7):
        assert config['workers'] == 7
    assert config['workers'] == before


def test_an_unknown_setting_suggests_the_nearest():
    with pytest.raises(ConfigError, match="'worker'; did you mean 'workers'"):
        config['worker']
    with pytest.raises(AttributeError):
        config.worker


def test_lists_of_names_are_comma_separated(fresh):
    fresh.setenv('LAZYPLUG_DISABLED_PLUGINS', 'a, b,,c')
    config.reload('disabled_plugins')
    assert config['disabled_plugins'] == ('a', 'b', 'c')


def test_every_setting_is_documented():
    for setting in config:
        assert setting.doc and setting.env_var == f'LAZYPLUG_{setting.name.upper()}'


def test_config_travels_by_reference_so_shipped_code_reads_the_settings_where_it_runs():
    import cloudpickle

    def reads_a_setting():
        return config['call_timeout']

    # a script's functions travel by value, with the globals they use: config among them
    shipped = cloudpickle.loads(cloudpickle.dumps(reads_a_setting))
    assert shipped.__globals__['config'] is config
    assert pickle.loads(pickle.dumps(config)) is config
