"""The built-in launchers pass the launcher contract every launcher passes; a local server stops
as a Python program ends."""

import pytest

import lazyplug
from lazyplug.contract_tests import LauncherContract
from lazyplug.factories import make_launcher
from lazyplug.launchers import local


class TestLocalLauncher(LauncherContract):
    @pytest.fixture
    def launcher(self, nothing_left_running):
        return make_launcher('local')


class TestThreadLauncher(LauncherContract):
    @pytest.fixture
    def launcher(self):
        return make_launcher('thread')


class AtExit(lazyplug.ModuleBase):
    """A module that, once called in a server, has the server write ``path`` when it exits."""

    def __init__(self, path):
        super().__init__()
        self.path = str(path)

    def forward(self, text):
        import atexit
        atexit.register(lambda: open(self.path, 'w').write(text))
        return text


@pytest.mark.parametrize('forked', [True, False], ids=['forked', 'spawned'])
def test_a_stopped_local_server_runs_its_exit_handlers(tmp_path, monkeypatch, nothing_left_running, forked):
    if not forked:
        monkeypatch.setattr(local, '_get_fork_server', lambda: None)
    served = lazyplug.ServerModule(AtExit(tmp_path / 'exited'), launcher='local')
    try:
        served.start()
        assert served('goodbye') == 'goodbye'
        assert not (tmp_path / 'exited').exists()
    finally:
        served.stop()  # SIGTERM: the server ends its calls, then exits as Python does
    assert (tmp_path / 'exited').read_text() == 'goodbye'
