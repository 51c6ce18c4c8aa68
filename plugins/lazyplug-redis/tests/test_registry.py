"""The Redis service registry against a real redis-server: the registry contract, expiry and
renewal, liveness, conflicts between processes, unix sockets."""

import signal

import pytest
from lazyplug.contract_tests import ServiceRegistryContract, make_entry
from lazyplug.errors import ServiceConflictError
from lazyplug.services import get_registry

from lazyplug_redis.registry import RedisRegistry
from redis_helpers import start_python, wait_until

# -- the registry contract -------------------------------------------------------------------------

def test_the_plugin_makes_the_registry_of_a_redis_url(registry, registry_url):
    assert isinstance(registry, RedisRegistry) and registry.url == registry_url


class TestRegistryContract(ServiceRegistryContract):
    """What every registry does (lazyplug.contract_tests), on Redis."""

    @pytest.fixture
    def registry(self, registry):
        return registry


def test_registries_with_other_prefixes_do_not_see_each_other(redis_server, registry):
    registry.publish(make_entry('m1'))
    other = get_registry(f'{redis_server.url}?prefix=someone-else:')
    assert other.lookup('m1') is None and other.list() == []


def test_a_corrupt_stored_entry_is_dropped_not_an_error(registry, raw, prefix):
    registry.publish(make_entry('good'))
    raw.hset(f'{prefix}service:junk', mapping={'owner': 'x', 'entry': '{not json'})
    raw.hset(f'{prefix}service:wrong', mapping={'owner': 'x', 'entry': '{"module_id": "wrong", "pids": "x"}'})
    raw.zadd(f'{prefix}services', {'junk': 1, 'wrong': 2})
    assert registry.lookup('junk') is None
    assert [e.module_id for e in registry.list()] == ['good']
    assert raw.exists(f'{prefix}service:junk', f'{prefix}service:wrong') == 0
    assert raw.zrange(f'{prefix}services', 0, -1) == [b'good']


def test_a_corrupt_entry_does_not_block_publishing_its_id(registry, raw, prefix):
    raw.hset(f'{prefix}service:m1', mapping={'owner': 'someone', 'entry': 'garbage'})
    mine = make_entry('m1')
    registry.publish(mine)
    assert registry.lookup('m1') == mine


def test_the_unix_socket_url_reaches_the_same_server(redis_server, registry, prefix):
    registry.publish(make_entry('m1', name='over TCP'))
    over_socket = get_registry(f'{redis_server.unix_url}&prefix={prefix}')
    assert [e.name for e in over_socket.list()] == ['over TCP']
    over_socket.publish(make_entry('m2', name='over the socket'))
    assert registry.lookup('m2').name == 'over the socket'


# -- expiry, renewal, liveness -------------------------------------------------------------------

def test_a_published_entry_has_a_time_to_live_that_the_publisher_renews(registry_url, raw, prefix):
    registry = get_registry(registry_url + '&ttl=3')
    registry.publish(make_entry('m1'))
    key = f'{prefix}service:m1'
    assert 0 < raw.pttl(key) <= 3000
    lowest = [3000]

    def renewed():  # the time-to-live went down as time passed, then back up
        left = raw.pttl(key)
        lowest[0] = min(lowest[0], left)
        return left > lowest[0] + 200

    wait_until(renewed, what='a renewal of the entry')
    assert registry.renewing == ['m1']


def test_an_entry_expires_when_its_publisher_stops_renewing(registry_url, raw, prefix):
    registry = get_registry(registry_url + '&ttl=1')
    registry.publish(make_entry('m1'))
    registry.close()  # stops renewing, as a crashed or frozen process would
    other = RedisRegistry(registry_url)
    wait_until(lambda: other.lookup('m1') is None, what='the expiry of the entry')
    assert raw.exists(f'{prefix}service:m1') == 0
    assert other.list() == []
    other.close()


def test_the_renewing_thread_ends_with_the_last_entry(registry_url):
    registry = get_registry(registry_url + '&ttl=1')
    registry.publish(make_entry('a'))
    registry.publish(make_entry('b'))
    thread = registry._renewer._thread
    assert thread.is_alive()
    registry.remove('a')
    assert registry._renewer.running
    registry.remove('b')
    thread.join(timeout=30)
    assert not thread.is_alive() and registry.renewing == []


def test_an_entry_removed_by_another_process_is_not_brought_back_by_its_owner(registry_url, prefix, raw):
    owner = get_registry(registry_url + '&ttl=1')
    owner.publish(make_entry('m1'))
    elsewhere = RedisRegistry(registry_url)  # another process's registry object
    try:
        elsewhere.remove('m1')
        wait_until(lambda: owner.renewing == [], what="the owner's giving up the removed entry")
    finally:
        elsewhere.close()
    assert owner.lookup('m1') is None and raw.exists(f'{prefix}service:m1') == 0


PUBLISH_AND_WAIT = '''
    import os, sys, time
    from lazyplug.services import ServiceEntry, get_registry
    url, module_id = sys.argv[1:]
    get_registry(url).publish(ServiceEntry(module_id, ['http://127.0.0.1:9100'], [os.getpid()], time.time(),
                                           'Theirs', os.getpid()))
    print('published', flush=True)
    time.sleep(300)
'''


@pytest.fixture
def publisher(registry_url):
    """A child process that publishes 'theirs' (ttl 1 s) and then sleeps."""
    proc = start_python(PUBLISH_AND_WAIT, registry_url + '&ttl=1', 'theirs')
    try:
        assert proc.stdout.readline().strip() == 'published', proc.stderr.read()
        yield proc
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.kill()
        proc.communicate()


def test_an_entry_published_by_another_process_is_found_and_conflicts(registry, publisher):
    entry = registry.lookup('theirs')
    assert entry is not None and entry.owner_pid == publisher.pid and entry.urls == ['http://127.0.0.1:9100']
    with pytest.raises(ServiceConflictError):
        registry.publish(make_entry('theirs'))


def test_the_entry_of_a_killed_publisher_disappears(registry, publisher):
    assert registry.lookup('theirs') is not None
    publisher.kill()
    publisher.wait()
    wait_until(lambda: registry.lookup('theirs') is None, what="the killed publisher's entry to go")
    assert registry.list() == []
    mine = make_entry('theirs')
    registry.publish(mine)  # the id is free again
    assert registry.lookup('theirs') == mine


def test_the_entry_of_a_frozen_publisher_expires(registry, publisher, raw, prefix):
    publisher.send_signal(signal.SIGSTOP)  # alive (its pid is no help) but no longer renewing
    wait_until(lambda: registry.lookup('theirs') is None, what="the frozen publisher's entry to expire")
    assert raw.exists(f'{prefix}service:theirs') == 0


def test_an_entry_of_another_machine_is_not_judged_by_process_ids(registry, raw, prefix, monkeypatch):
    from lazyplug.services import liveness as module  # where node_id() keeps this process's node
    monkeypatch.setattr(module, '_node', 'another-machine/pid:[1]')
    registry.publish(make_entry('remote', pids=[2 ** 22 + 7], owner_pid=2 ** 22 + 7))  # no such pid here
    monkeypatch.undo()
    assert registry.lookup('remote') is not None  # trusted until its time-to-live runs out


PUBLISH_CONTESTED = '''
    import os, sys, time
    from lazyplug.errors import ServiceConflictError
    from lazyplug.services import ServiceEntry, get_registry
    url, go, count = sys.argv[1:]
    registry = get_registry(url)
    while not os.path.exists(go):
        time.sleep(0.002)
    for i in range(int(count)):
        try:
            registry.publish(ServiceEntry(f'contested-{i}', [f'http://127.0.0.1:{os.getpid()}'], [os.getpid()],
                                          time.time(), 'c', os.getpid()))
        except ServiceConflictError:
            pass
        else:
            print(f'contested-{i}')
    print('done', flush=True)
    time.sleep(300)  # stay alive, and the entries with us, until the test has looked
'''


def test_of_processes_publishing_the_same_ids_at_once_exactly_one_wins_each(registry, registry_url, tmp_path):
    go = tmp_path / 'go'
    procs = [start_python(PUBLISH_CONTESTED, registry_url, go, 30) for _ in range(4)]
    try:
        go.touch()
        winners = {}
        for proc in procs:
            for line in iter(proc.stdout.readline, 'done\n'):
                assert line, proc.stderr.read()
                assert line.strip() not in winners, f'{line.strip()} won twice'
                winners[line.strip()] = proc.pid
        assert sorted(winners) == sorted(f'contested-{i}' for i in range(30))
        assert {e.module_id: e.owner_pid for e in registry.list()} == winners
    finally:
        for proc in procs:
            proc.kill()
            proc.communicate()
