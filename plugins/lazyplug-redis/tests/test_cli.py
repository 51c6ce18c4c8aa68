"""The `lazyplug` command with a Redis registry: one process deploys with `update --serve`, other
processes list, call and stop its service through Redis; a killed or frozen deployer's entry goes
away; a second deployment of the same module id is refused."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest
import redis
from lazyplug.services import liveness

from redis_helpers import child_env, wait_until

APP = '''
import lazyplug

class Shout(lazyplug.ModuleBase):
    def forward(self, text):
        return text.upper() + '!'

app = lazyplug.ServerModule(Shout(name='shout'))

# the same service deployed twice, from two processes (or machines): one module id
shared = lazyplug.ServerModule(Shout(name='shared'), id='the-shared-shout')
'''


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / 'app.py').write_text(APP)
    return tmp_path


@pytest.fixture
def url(request, prefix):
    if 'own_redis' in request.fixturenames:
        # a test that makes Redis lose its data: its own server, and renewals 200 s apart, so that
        # what brings the entry back within the test is the serving command, never a renewal
        return f'{request.getfixturevalue("own_redis").url}?prefix={prefix}&ttl=600'
    return f'{request.getfixturevalue("redis_server").url}?prefix={prefix}&ttl=1'


@pytest.fixture
def run(app_dir, url):
    """``lazyplug ARGS --registry URL`` in a new process; the completed process."""
    def run(*args):
        return subprocess.run([sys.executable, '-m', 'lazyplug', *args, '--registry', url], cwd=app_dir,
                              env=child_env(), capture_output=True, text=True, timeout=120)
    return run


@pytest.fixture
def serving(app_dir, url):
    """Start ``lazyplug update TARGET --serve --registry URL``; it is killed after the test."""
    procs = []

    def serve(target='app.py:app'):
        proc = subprocess.Popen([sys.executable, '-m', 'lazyplug', 'update', target, '--serve', '--registry', url],
                                cwd=app_dir, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith('serving '):
                return proc
        proc.wait(30)
        raise AssertionError(f'update --serve did not serve: {"".join(lines)}{proc.stderr.read()}')

    yield serve
    for proc in procs:
        proc.send_signal(signal.SIGCONT)
        proc.kill()
        proc.communicate(timeout=30)


def listed(run):
    result = run('ps', '--json')
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def gone(pids):
    return not any(liveness.alive(pid) for pid in pids)


def test_another_process_lists_calls_and_stops_a_service_served_through_redis(run, serving, url):
    proc = serving()
    [entry] = listed(run)
    assert entry['owner_pid'] == proc.pid and entry['name'] == 'Shout shout served by ServerModule'
    table = run('ps').stdout.splitlines()
    assert table[1].startswith(entry['module_id'][:12])

    called = run('call', entry['module_id'][:8], '"hello"')
    assert (called.returncode, called.stdout) == (0, '"HELLO!"\n'), called.stderr

    stopped = run('stop', entry['module_id'][:8])
    assert stopped.returncode == 0, stopped.stderr
    assert proc.wait(30) == 0
    assert 'every service has stopped; exiting' in proc.stdout.read()
    wait_until(lambda: gone(entry['pids']), what='the stopped service\'s processes to end')
    assert listed(run) == []


@pytest.mark.parametrize('loss', ['flushall', 'restart'])
def test_a_service_keeps_serving_when_redis_loses_its_entry_and_stop_still_stops_it(run, serving, own_redis, loss):
    proc = serving()
    [entry] = listed(run)
    if loss == 'flushall':
        client = redis.Redis.from_url(own_redis.url)
        client.flushall()
        client.close()
    else:
        own_redis.restart()  # empty, on the same port
    wait_until(lambda: [e['module_id'] for e in listed(run)] == [entry['module_id']],
               what='the lost entry to be published again')
    assert proc.poll() is None
    [again] = listed(run)
    assert (again['owner_pid'], again['urls'], again['pids']) == (entry['owner_pid'], entry['urls'], entry['pids'])
    assert run('call', entry['module_id'][:8], '"back"').stdout == '"BACK!"\n'

    stopped = run('stop', entry['module_id'][:8])
    assert stopped.returncode == 0, stopped.stderr
    assert proc.wait(30) == 0
    out, err = proc.communicate()
    assert 'every service has stopped; exiting' in out
    assert 'went missing from' in err and 'publishing it again' in err
    wait_until(lambda: gone(entry['pids']), what="the stopped service's processes to end")
    assert listed(run) == []


def test_a_killed_deployers_entry_expires_in_redis(run, serving, raw, prefix):
    proc = serving()
    [entry] = listed(run)
    key = f'{prefix}service:{entry["module_id"]}'
    assert raw.exists(key) == 1
    proc.kill()
    proc.wait()
    # nobody reads the registry meanwhile: the entry goes by its time-to-live alone, as for a
    # reader on another machine (a reader on this one would also drop it at once: its pid is gone)
    wait_until(lambda: raw.exists(key) == 0, what='the entry to expire')
    assert listed(run) == []
    wait_until(lambda: gone(entry['pids']), what="the killed deployer's servers to end")


def test_a_frozen_deployer_is_not_listed_for_long(run, serving):
    proc = serving()
    assert len(listed(run)) == 1
    os.kill(proc.pid, signal.SIGSTOP)  # alive, so its pid is no help: only the time-to-live tells
    wait_until(lambda: listed(run) == [], what='the frozen deployer\'s entry to expire')


def processes_marked(mark):
    """The live processes started with ``RUN_MARK=mark`` in their environment, wherever they were reparented."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get('RUN_MARK') == mark and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return found


def test_a_second_deployment_of_the_same_module_id_is_refused_and_leaves_nothing_running(run, serving, app_dir, url):
    first = serving('app.py:shared')
    mark = uuid.uuid4().hex
    second = subprocess.run([sys.executable, '-m', 'lazyplug', 'update', 'app.py:shared', '--serve', '--registry', url],
                            cwd=app_dir, env=child_env(RUN_MARK=mark), capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stdout + second.stderr
    assert 'failed: ServiceConflictError: ' in second.stderr
    assert "'the-shared-shout'" in second.stderr and 'is already served at' in second.stderr
    assert f'by process {first.pid}' in second.stderr
    assert 'serving ' not in second.stdout
    wait_until(lambda: not processes_marked(mark), what="the refused deployment's processes to end")
    [entry] = listed(run)
    assert entry['module_id'] == 'the-shared-shout' and entry['owner_pid'] == first.pid
    assert run('call', 'the-shared', '"still"').stdout == '"STILL!"\n'


def test_stop_never_signals_this_machines_processes_for_a_service_of_another_machine(run, url, sleeper):
    # machine A published a loopback URL and its own process ids; here, on machine B, the same
    # numbers are unrelated processes (the sleeper stands for one)
    from lazyplug.services import ServiceEntry, get_registry
    registry = get_registry(url)
    registry.publish(ServiceEntry('machineA0001', ['http://127.0.0.1:40000'], [sleeper.pid], time.time(), 'remote',
                                  sleeper.pid, node='machine-a-boot-id/pid:[4026531836]'))
    result = run('stop', 'machineA', '--timeout', '0.5')
    assert result.returncode == 0, result.stderr
    assert 'removed remote (machineA0001) from the registry; it runs on another machine' in result.stdout
    assert sleeper.poll() is None
    assert listed(run) == []
