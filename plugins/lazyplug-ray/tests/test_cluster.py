"""Two machines (network namespaces on this host, lazyplug.testbed): machine a runs a real
redis-server (the service registry) and the head of a real Ray cluster, machine b joins it as a
worker node. An application on a (cluster_app.py) deploys a service of two replicas, one on each
machine; from b, `lazyplug ps` lists them at addresses b reaches and `lazyplug call` answers.

The network, and every process on it (Ray's, redis-server, the application), ends with the module.
"""

import json
import os
import re
import shutil
import signal
import sysconfig
import time

import pytest
from lazyplug.pytest_plugin import require_network
from lazyplug.testbed import Network, processes_in
from lazyplug_redis.server import find_redis_server

from ray_helpers import lazyplug_command

HERE = os.path.dirname(os.path.abspath(__file__))
RAY = os.path.join(sysconfig.get_path('scripts'), 'ray')
REDIS_PORT = 6380  # 6379 is Ray's own (its GCS) on the head node
PASSWORD = 'pw-two-machines'
# light nodes: 1 CPU each, a small object store, no dashboard, no usage report
RAY_NODE = ['--num-cpus=1', '--object-store-memory=80000000', '--disable-usage-stats']


class Cluster:
    """Machines a (redis-server, Ray head) and b (Ray worker node), and the settings every
    lazyplug process on them shares."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.env = {'LAZYPLUG_REGISTRY': f'redis://:{PASSWORD}@{a.address}:{REDIS_PORT}/0',
                    'LAZYPLUG_RAY_ADDRESS': f'{a.address}:6379'}

    def lazyplug(self, machine, *args, check=True):
        """Run the lazyplug command on ``machine``; its result."""
        return machine.run([*lazyplug_command(), *args], env=self.env, check=check)

    def services(self, machine):
        """What `lazyplug ps --json` lists on ``machine``."""
        return json.loads(self.lazyplug(machine, 'ps', '--json').stdout)

    def cpus_in_use(self):
        """The CPUs Ray has given out, as `ray status` on a says."""
        status = self.a.run([RAY, 'status']).stdout
        # ' 1.0/2.0 CPU', or ' 1.0/2.0 CPU (1.0 used of 1.0 reserved in placement groups)'
        [usage] = re.findall(r'^ *([\d.]+/[\d.]+) CPU\b', status, re.MULTILINE)
        return usage


def require_redis_server():
    found = find_redis_server()
    if found is None:
        message = 'redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)'
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope='module')
def cluster():
    require_network()
    redis_server = require_redis_server()
    with Network() as network:
        a, b = network.machine('a'), network.machine('b')
        a.start([redis_server, '--bind', a.address, '--port', str(REDIS_PORT), '--requirepass', PASSWORD,
                 '--save', '', '--appendonly', 'no'], name='redis-server')
        a.wait_listening(REDIS_PORT)
        a.run([RAY, 'start', '--head', f'--node-ip-address={a.address}', '--port=6379', '--include-dashboard=false',
               *RAY_NODE], timeout=300)
        b.run([RAY, 'start', f'--address={a.address}:6379', f'--node-ip-address={b.address}', *RAY_NODE],
              timeout=300)
        namespaces = network.namespaces()
        yield Cluster(a, b)
    assert processes_in(namespaces) == []  # Network.close() checks it too: Ray's daemons, redis-server, apps


def wait_for(condition, timeout, what):
    """Poll ``condition`` until it gives something true, which is returned; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f'{what} did not happen within {timeout} s'
        time.sleep(0.2)


@pytest.fixture
def deployed(cluster):
    """`lazyplug update cluster_app.py:app --serve` running on a (the file only there, in its /tmp),
    until b lists the service; the application is asked to end (SIGTERM) after the test, which stops
    the service."""
    os.makedirs(cluster.a.path('/tmp/app'), exist_ok=True)
    shutil.copy(os.path.join(HERE, 'cluster_app.py'), cluster.a.path('/tmp/app/cluster_app.py'))
    app = cluster.a.start([*lazyplug_command(), 'update', 'cluster_app.py:app', '--serve'], cwd='/tmp/app',
                          env=cluster.env, name='lazyplug-update')
    try:
        listed = wait_for(lambda: cluster.services(cluster.b) or not app.running(), 180, 'the service listed on b')
        assert app.running(), app.output()
        [entry] = listed
        yield app, entry
    finally:
        app.signal(signal.SIGTERM)
        try:
            app.wait(60)
        finally:
            app.kill()


def host_of(url):
    return url.split('//')[1].rsplit(':', 1)[0]


def test_b_lists_one_replica_on_each_machine_at_its_address(cluster, deployed):
    _, entry = deployed
    assert entry['module_id'] == 'where'
    assert sorted(host_of(url) for url in entry['urls']) == sorted([cluster.a.address, cluster.b.address])


def test_b_calls_the_service_by_its_id(cluster, deployed):
    answer = json.loads(cluster.lazyplug(cluster.b, 'call', 'where', '"from b"', '--security-key', 'sk-two-machines')
                        .stdout)
    assert answer['x'] == 'from b' and answer['machine'] in ('a', 'b')


def test_each_published_address_is_answered_by_the_machine_it_names(cluster, deployed):
    _, entry = deployed
    named = {cluster.a.address: 'a', cluster.b.address: 'b'}
    for url in entry['urls']:
        result = cluster.lazyplug(cluster.b, 'call', url, '1', '--security-key', 'sk-two-machines')
        assert json.loads(result.stdout) == {'machine': named[host_of(url)], 'x': 1}


def test_without_the_key_b_is_refused(cluster, deployed):
    result = cluster.lazyplug(cluster.b, 'call', 'where', '1', check=False)
    assert result.returncode == 1 and 'authentication failed' in result.stderr


def test_lazyplug_stop_on_b_ends_the_application_on_a_and_frees_the_cluster(cluster, deployed):
    app, entry = deployed
    result = cluster.lazyplug(cluster.b, 'stop', 'where')
    assert 'runs on another machine' in result.stdout
    assert app.wait(60) == 0, app.output()  # the application on a saw its service removed, stopped it, ended
    assert cluster.services(cluster.a) == []
    for url in entry['urls']:  # neither replica answers any more
        result = cluster.lazyplug(cluster.b, 'call', url, '1', '--security-key', 'sk-two-machines', check=False)
        assert result.returncode == 1
    assert wait_for(lambda: cluster.cpus_in_use() == '0.0/2.0', 30, 'the replicas freed their CPUs')


def test_nothing_runs_on_the_cluster_between_tests(cluster):
    assert cluster.services(cluster.b) == []
    assert wait_for(lambda: cluster.cpus_in_use() == '0.0/2.0', 30, 'nothing holding CPUs')
