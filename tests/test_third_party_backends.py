"""A launcher, a service registry and a cache store written from plugins/README.md alone (the
installed lazyplug-demo-backends distribution) pass the contracts every built-in one passes, and
work through the names they register."""

import json
import subprocess
import sys

import pytest

import lazyplug
from lazyplug import config, factories
from lazyplug.contract_tests import CacheStoreContract, LauncherContract, ServiceRegistryContract
from lazyplug.testing import forgetting_instances

pytest.importorskip('lazyplug_demo_backends', reason='tox installs the test distributions')


class TestSpawnLauncher(LauncherContract):
    @pytest.fixture
    def launcher(self, nothing_left_running):
        return factories.make_launcher('spawn')


class TestJsonFileRegistry(ServiceRegistryContract):
    @pytest.fixture
    def registry(self, tmp_path):
        return factories.make_service_registry(f'jsonfile://{tmp_path}/services.json')


class TestShelfStore(CacheStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with config.temp('cache_dir', str(tmp_path)):
            return factories.make_cache_store('shelf')


def upper(text):
    return text.upper()


class Counted(lazyplug.ModuleBase):
    calls = 0

    def forward(self, x):
        type(self).calls += 1
        return x * 2


def test_a_server_module_deploys_with_the_spawn_launcher_and_publishes_in_the_jsonfile_registry(tmp_path):
    url = f'jsonfile://{tmp_path}/services.json'
    with forgetting_instances(), config.temp('registry', url):
        served = lazyplug.ServerModule(upper, launcher='spawn').start()
        try:
            assert served('abc') == 'ABC'
            [entry] = lazyplug.services.get_registry().list()
            assert entry.urls == served._urls
        finally:
            served.stop()
        assert lazyplug.services.get_registry().list() == []


def test_use_cache_keeps_results_in_the_shelf_store(tmp_path):
    with forgetting_instances(), config.temp('cache_strategy', 'shelf'), config.temp('cache_dir', str(tmp_path)):
        Counted.calls = 0
        module = Counted().use_cache()
        assert (module(2), module(2), Counted.calls) == (4, 4, 1)
        assert (tmp_path / 'shelf.dat').exists()


def test_the_lazyplug_command_lists_what_the_distribution_adds():
    done = subprocess.run([sys.executable, '-m', 'lazyplug', 'plugins', '--json'], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    [mine] = [c for c in json.loads(done.stdout) if c['distribution'] == 'lazyplug-demo-backends']
    assert (mine['launchers'], mine['registry_schemes'], mine['cache_strategies']) == (
        ['spawn'], ['jsonfile'], ['shelf'])
