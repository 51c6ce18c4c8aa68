"""One real Ray cluster for the whole session, on this machine, and checks that nothing is left;
and, for the test_cluster*.py modules, a cluster of two machines (cluster_helpers.py).

Ray starts in a private temporary directory, so that its processes are told apart from any other
Ray on the machine by their command lines; after the session no process may name it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

import psutil
import pytest
from lazyplug.pytest_plugin import require_network
from lazyplug.testbed import Network, processes_in

from cluster_helpers import Cluster, end, require_redis_server, wait_for
from ray_helpers import assert_nothing_left, survivors, wait_until


@pytest.fixture(autouse=True)
def _private_home(lazyplug_home):
    """Each test's own LAZYPLUG_HOME (the service registry), for it and the processes it starts."""


@pytest.fixture(scope='session')
def ray_cluster():
    """A Ray cluster of 2 CPUs and one custom resource ``test_box`` started for the session (with the
    dashboard, which serves Ray's state API); shut down at the end, after which none of its processes
    may remain. Yields its address."""
    import ray
    # short: Ray's Unix socket paths live under it and must fit in 107 bytes
    temp_dir = tempfile.mkdtemp(prefix='lpray-')
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    # the replicas keep their port files in a temporary directory of the session's own (Ray's
    # processes inherit TMPDIR; this process, which removes those of replicas that died hard, is
    # told too), so that checking that none is left is not confused by another run's on the machine
    saved_env, saved_tempdir = os.environ.get('TMPDIR'), tempfile.tempdir
    os.environ['TMPDIR'] = tempfile.tempdir = temp_dir
    try:
        ray.init(num_cpus=2, resources={'test_box': 1}, include_dashboard=True, _temp_dir=temp_dir,
                 logging_level=logging.WARNING)
    finally:
        if saved_env is None:
            del os.environ['TMPDIR']
        else:
            os.environ['TMPDIR'] = saved_env
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        tempfile.tempdir = saved_tempdir
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


@pytest.fixture
def nothing_left(ray_cluster):
    """Check after the test that it left nothing on the cluster or on the machine."""
    yield
    assert_nothing_left()


@pytest.fixture
def started():
    """Start modules; stop them whatever the test does."""
    modules = []

    def start(module):
        modules.append(module)
        module.start()
        return module

    yield start
    for module in modules:
        module.stop()


@pytest.fixture(scope='module')
def cluster():
    """Two machines, a (redis-server, the Ray head) and b (a Ray worker node), for the test module;
    every process on them ends with it."""
    require_network()
    redis_server = require_redis_server()
    with Network() as network:
        made = Cluster(network, redis_server)
        namespaces = network.namespaces()
        yield made
    assert processes_in(namespaces) == []  # Network.close() checks it too: Ray's daemons, redis-server, apps


@pytest.fixture
def deployed(cluster):
    """`lazyplug update cluster_app.py:app --serve` running on a, until b lists the service (its
    entry is yielded with the application); the application is asked to end after the test, which
    stops the service."""
    app = cluster.serve(cluster.a, 'cluster_app.py:app')
    try:
        urls = wait_for(lambda: cluster.urls(cluster.b) or not app.running(), 180, 'the service listed on b')
        assert app.running(), app.output()
        yield app, urls
    finally:
        end(app)
    wait_for(lambda: cluster.cpus_in_use() == '0.0/2.0' or cluster.nodes_alive() < 2, 60, 'the replicas ending')


@pytest.fixture
def breaks_b(cluster):
    """For a test that crashes machine b or takes its link down: b is rebuilt after it (name this
    fixture before ``deployed``, so that the application ends first)."""
    yield cluster.b
    cluster.rebuild_b()
