"""Fixtures of the command-line tests: an application file, a private LAZYPLUG_HOME, a runner."""

import pytest
from cli_helpers import APP, end_child, lazyplug_cmd, start_lazyplug


@pytest.fixture(autouse=True)
def _nothing_left_running(nothing_left_running):
    """No command, server or program a test starts may outlive it."""


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / 'app.py').write_text(APP)
    return tmp_path


@pytest.fixture
def home(tmp_path):
    return tmp_path / 'home'


@pytest.fixture
def run(app_dir, home):
    def run(*args, **kw):
        return lazyplug_cmd(*args, cwd=app_dir, home=home, **kw)
    return run


def start_serving(app_dir, home, *extra):
    proc = start_lazyplug('update', 'app.py:app', '--serve', *extra, cwd=app_dir, home=home)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith('serving '):
            return proc, lines
    proc.wait(30)
    raise AssertionError(f'update --serve did not serve: {"".join(lines)}{proc.stderr.read()}')


@pytest.fixture
def serving(app_dir, home):
    procs = []

    def serve(*extra):
        proc, lines = start_serving(app_dir, home, *extra)
        procs.append(proc)
        return proc, lines

    yield serve
    for proc in procs:
        end_child(proc)
