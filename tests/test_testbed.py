"""The test network (lazyplug.testbed): machines that reach each other and nothing else, a link
that goes down, a machine that crashes, and nothing left behind however the owner ends."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from lazyplug.errors import InvalidArgumentError
from lazyplug.pytest_plugin import require_network
from lazyplug.testbed import Network, NetworkError, processes_in, unavailable_reason


def python(machine, code, *args, **kw):
    """Run Python ``code`` with ``args`` on ``machine``; what it printed."""
    return machine.run([sys.executable, '-c', textwrap.dedent(code), *map(str, args)], **kw).stdout.strip()


def connect(machine, host, port, timeout):
    """What connecting from ``machine`` to ``host:port`` gave: 'connected' or the exception's name, and the seconds."""
    return python(machine, '''
        import socket, sys, time
        start = time.monotonic()
        try:
            socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
            result = 'connected'
        except OSError as exc:
            result = type(exc).__name__
        print(result, round(time.monotonic() - start, 2))
    ''', host, port, timeout).split()


def serve_http(machine, port=8000):
    server = machine.start([sys.executable, '-m', 'http.server', '--bind', machine.address, str(port)], name='http')
    machine.wait_listening(port)
    return server


def fetch(machine, url):
    return python(machine, 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).status)',
                  url)


def leftovers(namespaces, directory):
    """What remains of a network: processes in its namespaces, and its directory."""
    return processes_in(namespaces), os.path.exists(directory)


def test_two_machines_reach_each_other_over_http_by_address_and_by_name(lazyplug_network):
    a, b = lazyplug_network.machine('a'), lazyplug_network.machine('b')
    serve_http(b)
    assert a.address != b.address
    assert fetch(a, f'http://{b.address}:8000/') == fetch(a, 'http://b:8000/') == '200'


def test_each_machine_has_its_own_host_name_process_ids_and_tmp(lazyplug_network):
    a, b = lazyplug_network.machine('a'), lazyplug_network.machine('b')
    assert [m.run(['hostname']).stdout.strip() for m in (a, b)] == ['a', 'b']
    a.run(['touch', '/tmp/written-on-a'])
    assert os.path.exists(a.path('/tmp/written-on-a')) and not os.path.exists(b.path('/tmp/written-on-a'))
    assert python(b, 'import os; print(os.path.exists("/tmp/written-on-a"))') == 'False'
    assert a.run(['ls'], cwd='/tmp').stdout.split() == ['home', 'written-on-a']
    # lazyplug tells machines apart by boot id and process-id namespace
    node = 'from lazyplug.services.liveness import node_id; print(node_id())'
    assert python(a, node) != python(b, node)
    assert python(a, 'import os; print(os.getpid() > 1, open("/proc/1/cmdline").read().count("_testbed_init"))') \
        == 'True 1'


def test_a_machine_reaches_nothing_outside_the_network(lazyplug_network):
    a = lazyplug_network.machine('a')
    with socket.socket() as listener:  # on this host's loopback: not the machine's
        listener.bind(('127.0.0.1', 0))
        listener.listen()
        assert connect(a, '127.0.0.1', listener.getsockname()[1], 2)[0] == 'ConnectionRefusedError'
    # an address off the network (TEST-NET-3): its traffic stays on the bridge, where nobody answers
    assert connect(a, '203.0.113.1', 80, 1)[0] == 'TimeoutError'
    assert python(a, 'import lazyplug.launchers.base as b; print(b.url_host("0.0.0.0"))') == a.address


def test_a_port_nobody_listens_on_refuses_at_once(lazyplug_network):
    a, b = lazyplug_network.machine('a'), lazyplug_network.machine('b')
    result, seconds = connect(a, b.address, 8001, 5)
    assert result == 'ConnectionRefusedError' and float(seconds) < 1


def test_a_machine_whose_link_is_down_lets_connections_time_out_until_it_is_up_again(lazyplug_network):
    a, b = lazyplug_network.machine('a'), lazyplug_network.machine('b')
    serve_http(b)
    b.link_down()
    # longer than ARP's 3 s: the permanent neighbour entries keep it a timeout, not "no route to host"
    assert connect(a, b.address, 8000, 4)[0] == 'TimeoutError'
    assert connect(b, a.address, 8000, 1)[0] == 'TimeoutError'  # and it reaches nobody either
    b.link_up()
    assert fetch(a, f'http://{b.address}:8000/') == '200'


def test_a_crashed_machine_loses_every_process_and_runs_commands_again(lazyplug_network):
    a = lazyplug_network.machine('a')
    server = serve_http(a)
    a.run(['sh', '-c', 'setsid sleep 300 >/dev/null 2>&1 < /dev/null &'])  # a daemon, as `ray start` leaves
    a.crash()
    assert not server.running()
    # what runs on it now: its init, and the Python that looks
    assert python(a, 'import os; print(len([p for p in os.listdir("/proc") if p.isdigit()]))') == '2'
    assert connect(a, a.address, 8000, 2)[0] == 'ConnectionRefusedError'


def test_a_background_process_is_signalled_on_its_machine_and_its_exit_status_kept(lazyplug_network):
    a = lazyplug_network.machine('a')
    code = ('import signal, sys, time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(7)); '
            'print("up", flush=True); time.sleep(60)')
    process = a.start([sys.executable, '-c', code], name='waiter')
    assert wait_for(lambda: 'up' in process.output())
    process.signal(signal.SIGTERM)
    assert process.wait(10) == 7 and not process.running()


def test_closing_the_network_ends_every_process_namespace_and_file():
    require_network()
    network = Network()
    a = network.machine('a')
    serve_http(a)
    a.run(['sh', '-c', 'setsid sleep 300 >/dev/null 2>&1 < /dev/null &'])
    namespaces, directory = network.namespaces(), network.directory
    assert len(namespaces) == 2 and len(processes_in(namespaces)) >= 4
    network.close()
    assert leftovers(namespaces, directory) == ([], False)
    network.close()  # again: nothing to do


def test_a_test_that_fails_inside_the_network_leaves_nothing():
    require_network()
    with pytest.raises(RuntimeError, match='the test failed'), Network() as network:
        a = network.machine('a')
        serve_http(a)
        namespaces, directory = network.namespaces(), network.directory
        raise RuntimeError('the test failed')
    assert leftovers(namespaces, directory) == ([], False)


OWNER = '''
    import json, subprocess, sys, time
    from lazyplug.testbed import Network
    network = Network()
    a, b = network.machine('a'), network.machine('b')
    a.run(['sh', '-c', 'setsid sleep 300 >/dev/null 2>&1 < /dev/null &'])
    b.start(['sleep', '300'])
    keeper = None
    if sys.argv[1] == 'keep-lifeline':  # a process that outlives the owner and holds its lifeline
        keeper = subprocess.Popen(['sleep', '300'], pass_fds=[network._lifeline_w])
    print(json.dumps([sorted(network.namespaces()), network.directory, keeper and keeper.pid]), flush=True)
    time.sleep(300)
'''


def start_owner(mode):
    """A process that opens a network of two machines, says what it made, and waits to be killed."""
    owner = subprocess.Popen([sys.executable, '-c', textwrap.dedent(OWNER), mode], stdout=subprocess.PIPE, text=True)
    import json
    namespaces, directory, keeper = json.loads(owner.stdout.readline())
    return owner, set(namespaces), directory, keeper


def wait_for(condition, timeout=15):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_an_owner_killed_mid_test_leaves_no_process():
    require_network()
    owner, namespaces, directory, _ = start_owner('plain')
    assert len(processes_in(namespaces)) >= 4
    owner.kill()
    owner.wait()
    owner.stdout.close()
    # the machines' init processes see their lifeline close and end, and every process with them
    assert wait_for(lambda: not processes_in(namespaces)), processes_in(namespaces)
    Network().close()  # the next network removes the dead owner's directory
    assert leftovers(namespaces, directory) == ([], False)


def test_the_next_network_ends_the_machines_of_a_dead_owner():
    require_network()
    owner, namespaces, directory, keeper = start_owner('keep-lifeline')
    try:
        owner.kill()
        owner.wait()
        time.sleep(0.5)
        assert processes_in(namespaces), 'the kept lifeline keeps the machines running'
        Network().close()
        assert wait_for(lambda: not processes_in(namespaces)), processes_in(namespaces)
        assert leftovers(namespaces, directory) == ([], False)
    finally:
        os.kill(keeper, signal.SIGKILL)
        owner.stdout.close()


@pytest.mark.parametrize(('name', 'named'), [('A', "'A'"), ('has space', "'has space'"), ('', "''"),
                                              ('x' * 40, 'x' * 40)])
def test_a_bad_machine_name_is_refused_and_named(lazyplug_network, name, named):
    with pytest.raises(InvalidArgumentError, match=named):
        lazyplug_network.machine(name)
    assert lazyplug_network.machines == {}


def test_a_machine_name_is_taken_once(lazyplug_network):
    lazyplug_network.machine('a')
    with pytest.raises(InvalidArgumentError, match="machine called 'a' already"):
        lazyplug_network.machine('a')


@pytest.mark.parametrize('subnet', ['10.0.0.0/33', '8.8.8.0/24', 'nonsense', '10.0.0.0/31'])
def test_a_bad_subnet_is_refused_and_named(subnet):
    require_network()
    with pytest.raises(InvalidArgumentError, match=subnet.replace('.', r'\.')):
        Network(subnet)


def test_a_small_subnet_runs_out_of_addresses_clearly():
    require_network()
    with Network('10.251.7.0/30') as network:
        network.machine('a')
        network.machine('b')
        with pytest.raises(InvalidArgumentError, match="no address left for machine 'c'"):
            network.machine('c')


def test_a_string_command_is_refused(lazyplug_network):
    a = lazyplug_network.machine('a')
    with pytest.raises(InvalidArgumentError, match='list of strings'):
        a.run('hostname')


def test_a_failing_command_raises_with_its_output(lazyplug_network):
    a = lazyplug_network.machine('a')
    with pytest.raises(NetworkError, match='exited with 3:\nbad thing'):
        a.run(['sh', '-c', 'echo bad thing; exit 3'])
    assert a.run(['sh', '-c', 'exit 3'], check=False).returncode == 3


def test_missing_tools_are_named(monkeypatch):
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    monkeypatch.setenv('PATH', '/nonexistent')
    assert 'needs ip, unshare, nsenter, mount on PATH' in unavailable_reason()


def test_without_root_the_reason_says_so(monkeypatch):
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    assert 'needs root' in unavailable_reason()


def test_where_the_network_cannot_run_a_test_is_skipped_but_fails_under_ci(monkeypatch):
    monkeypatch.setattr('lazyplug.testbed.unavailable_reason', lambda: 'no namespaces here')
    monkeypatch.delenv('CI', raising=False)
    with pytest.raises(pytest.skip.Exception, match='no namespaces here'):
        require_network()
    monkeypatch.setenv('CI', 'true')
    with pytest.raises(pytest.fail.Exception, match='no namespaces here; under CI'):
        require_network()
