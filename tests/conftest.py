"""Shared fixtures: each test's module registrations and run-time plugins are undone after it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lazyplug import config, plugins
from lazyplug.testing import isolated_plugins, isolated_registry


@pytest.fixture(scope='session', autouse=True)
def _state_home(tmp_path_factory):
    """The tests' own LAZYPLUG_HOME (service registry, caches), for this process and its children."""
    home = str(tmp_path_factory.mktemp('lazyplug-home'))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('LAZYPLUG_HOME', home)
        config.reload('home')
        yield home
    config.reload('home')


@pytest.fixture(scope='session', autouse=True)
def _plugin_manager(_state_home):
    plugins.get_plugin_manager()  # one manager for the session; tests that need another ask for it


@pytest.fixture(autouse=True)
def _isolation():
    with isolated_registry(), isolated_plugins():
        yield


@pytest.fixture
def fresh_plugins():
    """A new plugin manager for this test, built from the settings in force when it is first used."""
    with isolated_plugins(fresh=True):
        yield


@pytest.fixture
def nothing_left_running(lazyplug_no_processes_left):
    """Fails the test if a process it started (a server, a command) still runs after it."""


@pytest.fixture
def sleeper():
    """A child process that sleeps: a live process for the entries a test writes; killed after the test."""
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def started():
    """Start ServerModules and stop them whatever the test does."""
    modules = []

    def start(module, **kw):
        modules.append(module)
        return module.start(**kw)

    yield start
    for module in modules:
        module.stop()
