"""The two-machine test bed of the test_cluster*.py modules (lazyplug.testbed): machine a runs a
real redis-server (the service registry) and the head of a real Ray cluster, machine b a Ray
worker node; the applications (cluster_app.py) run from /tmp/app of either machine.

Ray's health checks of the head are tightened (a node silent for about 3 s is dead, as the README
suggests for clusters that must fail over fast), so that node deaths are noticed within a test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import sysconfig
import time
from collections import Counter

import pytest
from lazyplug_redis.server import find_redis_server

from ray_helpers import lazyplug_command

HERE = os.path.dirname(os.path.abspath(__file__))
RAY = os.path.join(sysconfig.get_path('scripts'), 'ray')
REDIS_PORT = 6380  # 6379 is Ray's own (its GCS) on the head node
PASSWORD = 'pw-two-machines'
KEY = 'sk-two-machines'
# light nodes: 1 CPU each, a small object store, no dashboard, no usage report
RAY_NODE = ['--num-cpus=1', '--object-store-memory=80000000', '--disable-usage-stats']
HEALTH_CHECKS = {'RAY_health_check_period_ms': '1000', 'RAY_health_check_timeout_ms': '1000',
                 'RAY_health_check_failure_threshold': '3'}
APP_FILES = ('cluster_app.py', 'caller.py', 'tree_app.py')


def require_redis_server():
    found = find_redis_server()
    if found is None:
        message = 'redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)'
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def wait_for(condition, timeout, what):
    """Poll ``condition`` until it gives something true, which is returned; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f'{what} did not happen within {timeout} s'
        time.sleep(0.1)


def host_of(url):
    return url.split('//')[1].rsplit(':', 1)[0]


class Cluster:
    """Machines a (redis-server, Ray head) and b (Ray worker node) of ``network``, and the settings
    every lazyplug process on them shares; ``health_checks``: the environment of the head's `ray
    start` (empty: Ray's defaults)."""

    def __init__(self, network, redis_server, health_checks=HEALTH_CHECKS):
        self.network = network
        self.redis_server = redis_server
        self.a, self.b = network.machine('a'), network.machine('b')
        self.env = {'LAZYPLUG_REGISTRY': f'redis://:{PASSWORD}@{self.a.address}:{REDIS_PORT}/0',
                    'LAZYPLUG_RAY_ADDRESS': f'{self.a.address}:6379'}
        for machine in (self.a, self.b):
            os.makedirs(machine.path('/tmp/app'))
            for name in APP_FILES:
                shutil.copy(os.path.join(HERE, name), machine.path(f'/tmp/app/{name}'))
        self.redis = self.start_redis()
        self.a.run([RAY, 'start', '--head', f'--node-ip-address={self.a.address}', '--port=6379',
                    '--include-dashboard=false', *RAY_NODE], env=health_checks, timeout=300)
        self.start_b()

    def start_redis(self):
        """A redis-server on a, empty (nothing saved), that takes connections."""
        redis = self.a.start([self.redis_server, '--bind', self.a.address, '--port', str(REDIS_PORT), '--requirepass',
                              PASSWORD, '--save', '', '--appendonly', 'no'], name='redis-server')
        self.a.wait_listening(REDIS_PORT)
        return redis

    def start_b(self):
        """Machine b joins the Ray cluster as a worker node."""
        self.b.run([RAY, 'start', f'--address={self.a.address}:6379', f'--node-ip-address={self.b.address}',
                    *RAY_NODE], timeout=300)

    def rebuild_b(self):
        """After a test that broke machine b: end whatever is left on it, plug it in, and join it again."""
        self.b.crash()
        self.b.link_up()
        wait_for(lambda: self.nodes_alive() == 1, 60, 'Ray marking the old node b dead')
        self.start_b()
        wait_for(lambda: self.nodes_alive() == 2, 60, 'b joining the cluster again')

    def lazyplug(self, machine, *args, check=True):
        """Run the lazyplug command on ``machine``; its result."""
        return machine.run([*lazyplug_command(), *args], env=self.env, check=check)

    def services(self, machine):
        """What `lazyplug ps --json` lists on ``machine``."""
        return json.loads(self.lazyplug(machine, 'ps', '--json').stdout)

    def urls(self, machine, module_id='where'):
        """The URLs `lazyplug ps` on ``machine`` lists for ``module_id`` (None if it lists no such service)."""
        for entry in self.services(machine):
            if entry['module_id'] == module_id:
                return entry['urls']
        return None

    def status(self):
        return self.a.run([RAY, 'status']).stdout

    def cpus_in_use(self):
        """The CPUs Ray has given out, as `ray status` on a says."""
        # ' 1.0/2.0 CPU', or ' 1.0/2.0 CPU (1.0 used of 1.0 reserved in placement groups)'
        [usage] = re.findall(r'^ *([\d.]+/[\d.]+) CPU\b', self.status(), re.MULTILINE)
        return usage

    def nodes_alive(self):
        """How many nodes `ray status` on a lists as active."""
        active = self.status().split('Active:', 1)[1].split('Pending:', 1)[0]
        return len(re.findall(r'node_', active))

    def serve(self, machine, target, *options, env=None):
        """`lazyplug update TARGET --serve OPTIONS` on ``machine`` (in /tmp/app), in the background."""
        return machine.start([*lazyplug_command(), 'update', target, '--serve', *options], cwd='/tmp/app',
                             env={**self.env, **(env or {})}, name='lazyplug-update')

    def caller(self, machine, seconds, service='app', *, env=None):
        """caller.py on ``machine``: calls ``service`` of cluster_app.py in a loop for ``seconds``."""
        return machine.start([sys.executable, 'caller.py', str(seconds), service], cwd='/tmp/app',
                             env={**self.env, **(env or {})}, name='caller')


def end(app, timeout=60):
    """Ask a lazyplug application to end (SIGTERM stops what it serves); kill it if it does not."""
    app.signal(signal.SIGTERM)
    try:
        app.wait(timeout)
    finally:
        app.kill()


def calls_of(caller, timeout=120):
    """What caller.py printed once it ended: ``[token, outcome, began, seconds]`` a call."""
    assert caller.wait(timeout) == 0, caller.output()[-3000:]
    return [json.loads(line) for line in caller.output().splitlines() if line.startswith('[')]


def wait_for_calls(caller, count):
    """Until caller.py has made ``count`` calls."""
    wait_for(lambda: caller.output().count('\n[') + caller.output().startswith('[') >= count or not caller.running(),
             120, f'{count} calls')
    assert caller.running(), caller.output()[-3000:]


def answered(call):
    return call[1] in ('a', 'b')


def times_run(calls, *machines):
    """How often each of ``calls`` ran, by token, over ``machines`` (the ran.log each keeps in its /tmp)."""
    counts = Counter()
    for path in (machine.path('/tmp/ran.log') for machine in machines):
        if os.path.exists(path):
            with open(path) as log:
                counts.update(log.read().split())
    return {call[0]: counts[call[0]] for call in calls}
