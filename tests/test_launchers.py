"""The built-in launchers pass the launcher contract every launcher passes."""

import pytest

from lazyplug.contract_tests import LauncherContract
from lazyplug.factories import make_launcher


class TestLocalLauncher(LauncherContract):
    @pytest.fixture
    def launcher(self, nothing_left_running):
        return make_launcher('local')


class TestThreadLauncher(LauncherContract):
    @pytest.fixture
    def launcher(self):
        return make_launcher('thread')
