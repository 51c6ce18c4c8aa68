"""Calls between machines when one of them goes silent (lazyplug.testbed): the caller waits one
connect timeout, not the call timeout, and no call runs twice.

Machines b and c each serve the same function (a replica each); machine a calls them. Each call
carries a token that the serving machine writes down, so that the test counts how often each
call ran, wherever it ran.
"""

import json
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures('lazyplug_network')

KEY = 'sk-failover'

SERVE = '''
    import os, sys, time
    import lazyplug

    def record(token):
        with open('/tmp/ran.log', 'a') as log:
            log.write(token + '\\n')
        return os.uname().nodename

    sm = lazyplug.ServerModule(record, launcher='thread', host='0.0.0.0', port=8000, security_key=sys.argv[1])
    sm.start()
    time.sleep(3600)
'''

# calls the replicas given as arguments in a loop for argv[2] seconds, printing one JSON line a call
CALL = '''
    import json, sys, time
    from lazyplug.serve.client import ServiceClient

    client = ServiceClient(sys.argv[3:], sys.argv[1])
    end = time.monotonic() + float(sys.argv[2])
    n = 0
    while time.monotonic() < end:
        n += 1
        token = f'call-{n}'
        began = time.monotonic()
        try:
            outcome = client.call((token,), {})
        except Exception as exc:
            outcome = type(exc).__name__ + ': ' + str(exc)
        print(json.dumps([token, outcome, began, time.monotonic() - began]), flush=True)
'''


@pytest.fixture
def machines(lazyplug_network):
    """Machine a (the caller) and machines b and c, each serving a replica at port 8000."""
    a, b, c = (lazyplug_network.machine(name) for name in 'abc')
    for server in (b, c):
        server.start([sys.executable, '-c', textwrap.dedent(SERVE), KEY], name='serve')
    for server in (b, c):
        server.wait_listening(8000)
    return a, b, c


def start_caller(a, seconds, *servers, env=None):
    urls = [f'http://{server.address}:8000' for server in servers]
    settings = {'LAZYPLUG_CALL_TIMEOUT': '120', 'LAZYPLUG_CONNECT_TIMEOUT': '1', **(env or {})}
    return a.start([sys.executable, '-c', textwrap.dedent(CALL), KEY, str(seconds), *urls], env=settings,
                   name='caller')


def calls_of(caller):
    """What the caller printed: [token, outcome, began, seconds] a call."""
    assert caller.wait(120) == 0, caller.output()
    return [json.loads(line) for line in caller.output().splitlines() if line.startswith('[')]


def ran(*machines):
    """How often each token ran, over ``machines``."""
    logs = [Path(machine.path('/tmp/ran.log')) for machine in machines]
    return Counter(token for log in logs if log.exists() for token in log.read_text().split())


def wait_for_calls(caller, count):
    deadline = time.monotonic() + 60
    while caller.output().count('\n') < count:
        assert time.monotonic() < deadline and caller.running(), caller.output()
        time.sleep(0.05)


def test_calls_under_way_when_a_machine_goes_silent_fail_within_a_connect_timeout_and_the_rest_fail_over(machines):
    a, b, c = machines
    caller = start_caller(a, 8, b, c)
    wait_for_calls(caller, 20)  # both replicas answer, on kept-alive connections
    b.link_down()
    silent = time.monotonic()  # the machines share this host's monotonic clock
    calls = calls_of(caller)
    failed = [call for call in calls if call[1] not in ('b', 'c')]
    # the call written to b when it went silent (the caller makes one at a time) may have run:
    # it fails, saying so, once b has acknowledged nothing for the connect timeout (1 s)
    assert len(failed) <= 1 and all('went silent' in call[1] for call in failed), failed
    assert max(call[3] for call in calls) < 3  # not the call timeout (120 s)
    after = [call for call in calls if call[2] > silent + 3]
    assert after and {call[1] for call in after} == {'c'}  # b is passed over from then on
    counts = ran(b, c)
    assert max(counts.values()) == 1  # no call ran twice
    assert all(counts.get(token) == 1 for token, outcome, *_ in calls if outcome in ('b', 'c'))


def test_a_new_caller_fails_over_from_a_silent_machine_after_one_connect_timeout(machines):
    a, b, c = machines
    b.link_down()
    caller = start_caller(a, 3, b, c)
    calls = calls_of(caller)
    assert {call[1] for call in calls} == {'c'}  # every call answered, by c
    # the first call tries b first (its turn), waits the connect timeout (1 s), and goes to c; from
    # then on b is passed over
    assert 1 <= calls[0][3] < 2 and all(call[3] < 1 for call in calls[1:])
    counts = ran(b, c)
    assert set(counts.values()) == {1} and len(counts) == len(calls)
