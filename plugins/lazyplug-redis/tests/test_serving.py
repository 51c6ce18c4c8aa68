"""Two processes and one Redis registry: one deploys a ServerModule, the other finds it there,
calls it and stops it; a killed deployer's entry goes away."""

import os
import signal

import lazyplug
import pytest
from lazyplug.services import liveness

from redis_helpers import start_python, wait_until

DEPLOY = '''
    import signal, sys, time
    import lazyplug

    def shout(text):
        return text.upper() + '!'

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a clean exit: the services stop with it
    sm = lazyplug.ServerModule(shout)
    sm.start()
    print(sm._impl._module_id, flush=True)
    time.sleep(300)
'''


@pytest.fixture
def deployer(registry_url):
    """A process that deploys ``shout`` with the Redis registry (ttl 1 s) and waits; its module id."""
    proc = start_python(DEPLOY, LAZYPLUG_REGISTRY=registry_url + '&ttl=1')
    try:
        module_id = proc.stdout.readline().strip()
        assert module_id, proc.stderr.read()
        yield proc, module_id
    finally:
        proc.kill()
        proc.communicate()


def test_another_process_finds_and_calls_the_deployed_service(registry, deployer):
    proc, module_id = deployer
    entry = registry.lookup(module_id)
    assert entry is not None and entry.owner_pid == proc.pid and 'shout' in entry.name
    assert [e.module_id for e in registry.list()] == [module_id]
    assert lazyplug.UrlModule(url=entry.urls[0])('hello') == 'HELLO!'


def test_stopping_the_deployer_found_in_the_registry_stops_its_service_and_its_entry(registry, deployer):
    proc, module_id = deployer
    entry = registry.lookup(module_id)
    os.kill(entry.owner_pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert registry.lookup(module_id) is None  # removed at exit, not left to expire
    assert not any(liveness.alive(pid) for pid in entry.pids)


def test_the_entry_of_a_killed_deployer_expires_for_other_machines(registry, deployer, monkeypatch):
    proc, module_id = deployer
    monkeypatch.setattr(liveness, '_node', 'another-machine/pid:[1]')  # pids of this machine mean nothing there
    assert registry.lookup(module_id) is not None
    proc.kill()
    proc.wait()
    wait_until(lambda: registry.lookup(module_id) is None, what='the expiry of the killed deployer\'s entry')
    assert registry.list() == []

