"""The digits example (examples/digits.py, plugin lazyplug-sklearn) on Ray, end to end: trained here,
its classifier served by a Ray actor, evaluated through it; the same accuracy as with the local
launcher, through the launcher setting and through the command line."""

import os
import pathlib
import re
import runpy
import subprocess

import pytest
from lazyplug import config

from ray_helpers import assert_nothing_left, lazyplug_command, replicas

DIGITS = pathlib.Path(__file__).resolve().parents[3] / 'examples' / 'digits.py'

pytestmark = pytest.mark.usefixtures('nothing_left')


def accuracy_with(launcher):
    """Build the example afresh, update it with ``launcher``, and return its evaluation and deployment."""
    with config.temp('launcher', launcher):
        app = runpy.run_path(str(DIGITS))['app']
        try:
            app.update()
            served_on_ray = len(replicas())
            return app.eval_result, served_on_ray
        finally:
            app.stop()


def test_the_digits_example_on_ray_scores_as_on_local():
    on_ray, ray_replicas = accuracy_with('ray')
    on_local, local_replicas = accuracy_with('local')
    assert (ray_replicas, local_replicas) == (1, 0)
    assert on_ray == on_local
    assert on_ray['accuracy'] > 0.9
    assert_nothing_left()


def lazyplug_update(launcher, ray_cluster):
    command = lazyplug_command()
    result = subprocess.run([*command, 'update', f'{DIGITS}:app', '--launcher', launcher], capture_output=True,
                            text=True, timeout=300, env={**os.environ, 'LAZYPLUG_RAY_ADDRESS': ray_cluster})
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r'["\']accuracy["\']:\s*([0-9.]+)', result.stdout)
    assert found, result.stdout
    return float(found.group(1))


def test_lazyplug_update_with_the_ray_launcher_runs_the_digits_on_ray(ray_cluster):
    assert lazyplug_update('ray', ray_cluster) == lazyplug_update('local', ray_cluster) > 0.9
