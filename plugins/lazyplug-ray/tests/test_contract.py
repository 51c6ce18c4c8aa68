"""The ray launcher passes the launcher contract every launcher passes, on the session's Ray cluster."""

import pytest
from lazyplug.contract_tests import LauncherContract

from lazyplug_ray import RayLauncher

pytestmark = pytest.mark.usefixtures('nothing_left')


class TestRayLauncher(LauncherContract):
    @pytest.fixture
    def launcher(self, ray_cluster):
        return RayLauncher(num_cpus=0.5)
