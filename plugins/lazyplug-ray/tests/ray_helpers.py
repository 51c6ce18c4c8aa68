"""Helpers of lazyplug-ray's tests (a module of its own, not conftest: other plugins' test folders
have a conftest too, and ``from conftest import`` would find whichever pytest imported first)."""

from __future__ import annotations

import os
import sys
import time

import psutil


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


def survivors(procs, temp_dir):
    """Which of ``procs`` (psutil processes) still run, and which processes name ``temp_dir``."""
    return [p for p in procs if _alive(p)] + processes_naming(temp_dir)


def state_address():
    """The address of the cluster this process is connected to, for Ray's state API: without one,
    Ray looks for clusters among the machine's processes, and another Ray (a test network's, another
    run's) makes that ambiguous."""
    import ray
    return ray.get_runtime_context().gcs_address


def replicas(alive_only=True):
    """The ServiceReplica actors Ray knows of: alive (or starting, or restarting) ones, or all."""
    from ray.util.state import list_actors
    actors = list_actors(address=state_address(), filters=[('class_name', '=', 'ServiceReplica')], limit=10000,
                         raise_on_missing_output=False)
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


def lazyplug_command():
    """The ``lazyplug`` command line of this environment, as a list to start a process with."""
    return [sys.executable, '-m', 'lazyplug']
