"""One real Ray cluster for the whole session, on this machine, and checks that nothing is left.

Ray starts in a private temporary directory, so that its processes are told apart from any other
Ray on the machine by their command lines; after the session no process may name it.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time

import psutil
import pytest


def processes_naming(text: str) -> list[psutil.Process]:
    """Running processes whose command line mentions ``text``."""
    found = []
    for proc in psutil.process_iter(['cmdline', 'status']):
        try:
            if proc.info['status'] != psutil.STATUS_ZOMBIE and any(text in part for part in proc.info['cmdline'] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def wait_until(condition, timeout=30.0, pause=0.05):
    """Poll ``condition()`` until it is true or ``timeout`` seconds have passed; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(pause)


@pytest.fixture(autouse=True)
def _private_home(lazyplug_home):
    """Each test's own LAZYPLUG_HOME (the service registry), for it and the processes it starts."""


def survivors(procs, temp_dir):
    """Which of ``procs`` (psutil processes) still run, and which processes name ``temp_dir``."""
    return [p for p in procs if _alive(p)] + processes_naming(temp_dir)


@pytest.fixture(scope='session')
def ray_cluster():
    """A Ray cluster of 2 CPUs started for the session (with the dashboard, which serves Ray's state
    API); shut down at the end, after which none of its processes may remain. Yields its address."""
    import ray
    # short: Ray's Unix socket paths live under it and must fit in 107 bytes
    temp_dir = tempfile.mkdtemp(prefix='lpray-')
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    ray.init(num_cpus=2, include_dashboard=True, _temp_dir=temp_dir, logging_level=logging.WARNING)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        # Ray's servers are this process's children, its workers their children; the local
        # launcher's fork server (the tests compare with it) lives as long as this process, by design
        from lazyplug.launchers.local import fork_server_pid
        before.add(fork_server_pid())
        ours = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
        ray.shutdown()
        wait_until(lambda: not survivors(ours, temp_dir))
        left = survivors(ours, temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not left, f'Ray processes left after the session: {left}'


def replicas(alive_only=True):
    """The ServiceReplica actors Ray knows of: alive (or starting, or restarting) ones, or all."""
    from ray.util.state import list_actors
    actors = list_actors(filters=[('class_name', '=', 'ServiceReplica')], limit=10000, raise_on_missing_output=False)
    return [a for a in actors if a.state != 'DEAD' or not alive_only]


def _alive(proc):
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _running(pid):
    try:
        return _alive(psutil.Process(pid))
    except psutil.Error:
        return False


def assert_nothing_left():
    """No replica alive on the cluster, no process that ever served a replica, no port file on this machine."""
    assert wait_until(lambda: not replicas()), f'replicas left on the cluster: {replicas()}'
    pids = {a.pid for a in replicas(alive_only=False) if a.pid}
    assert wait_until(lambda: not [p for p in pids if _running(p)]), \
        f'replica processes left: {[p for p in pids if _running(p)]}'
    from lazyplug_ray.replica import port_file
    port_dir = os.path.dirname(port_file('x'))
    assert not os.path.isdir(port_dir) or not os.listdir(port_dir), f'port files left: {os.listdir(port_dir)}'


@pytest.fixture
def nothing_left(ray_cluster):
    """Check after the test that it left nothing on the cluster or on the machine."""
    yield
    assert_nothing_left()


def lazyplug_command():
    """The ``lazyplug`` command line of this environment, as a list to start a process with."""
    return [sys.executable, '-m', 'lazyplug']
