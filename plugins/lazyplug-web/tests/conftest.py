"""Fixtures: a real headless Chromium for the session, a fresh page per test, WebModules stopped after it."""

from __future__ import annotations

import os

import pytest

from lazyplug_web.testing import find_chromium, launch_chromium
from web_helpers import start_lazyplug


def _unavailable(message):
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope='session')
def browser(tmp_path_factory):
    """A headless Chromium (Debian's chromium; .ci/run installs it), driven by Playwright."""
    executable = find_chromium()
    if executable is None:
        _unavailable('Chromium is not installed: the lazyplug-web tests drive a real one (Debian: apt-get install '
                     'chromium; .ci/run installs it; LAZYPLUG_CHROMIUM names another)')
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install './plugins/lazyplug-web[test]'")
    playwright = sync_playwright().start()
    try:
        context = launch_chromium(playwright, executable, str(tmp_path_factory.mktemp('chromium-profile')))
        try:
            yield context
        finally:
            context.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser):
    """A new tab, its session storage empty; closed after the test."""
    tab = browser.new_page()
    tab.set_default_timeout(10_000)
    try:
        yield tab
    finally:
        tab.close()


@pytest.fixture
def started():
    """Start WebModules (and other modules) and stop them whatever the test does."""
    modules = []

    def start(module):
        modules.append(module)
        return module.start()

    yield start
    for module in modules:
        module.stop()


@pytest.fixture
def app_dir(tmp_path):
    """Where a test's commands run (test modules with an application file give their own)."""
    return tmp_path


@pytest.fixture
def command(app_dir):
    """Start ``python -m lazyplug ARGS`` in ``app_dir``; killed after the test if it still runs."""
    procs = []

    def start(*args):
        proc = start_lazyplug(app_dir, *args)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
