"""A service whose replicas move (a cluster launcher restarts one on another machine): the registry
lists where they are now, and callers follow; a replica no call reaches is passed over until it
answers again.

The replicas here are real servers (the thread launcher); the move is what a launcher reports
through ``Deployment.urls_changed``.
"""

import pickle
import time

import pytest

from lazyplug import ServerModule, config
from lazyplug.errors import ServiceError, ServiceUnavailableError
from lazyplug.serve.client import reachability
from lazyplug.serve.reachability import Reachability
from lazyplug.services import get_registry

pytestmark = pytest.mark.usefixtures('nothing_left_running')


def echo(x):
    return x


def test_a_deployment_whose_replicas_move_publishes_where_they_are_now(started):
    sm = ServerModule(echo, launcher='thread', num_replicas=2, id='moving')
    started(sm)
    deployment = sm._impl._deployment
    first, second = deployment.urls
    deployment.urls_changed([second])  # the first stopped answering: withdrawn
    assert get_registry().lookup('moving').urls == [second]
    assert sm._urls == [second]
    deployment.urls_changed([second, first])  # back (here at the same address)
    assert get_registry().lookup('moving').urls == [second, first]


def test_the_deploying_process_calls_the_replicas_where_they_are_now(started):
    sm = ServerModule(echo, launcher='thread', num_replicas=2)
    started(sm)
    assert sm(1) == 1  # its client is made
    other = ServerModule(echo, launcher='thread')
    started(other)
    sm._impl._deployment.urls_changed(other._urls)  # as if both replicas had moved there
    assert sm._impl._client.urls == other._urls
    assert sm(2) == 2


def test_urls_a_registry_failure_kept_from_being_published_are_published_a_second_later(started, monkeypatch):
    sm = ServerModule(echo, launcher='thread', num_replicas=2, id='retried')
    started(sm)
    registry = get_registry()
    publish, tried = registry.publish, []

    def down_once(entry):
        tried.append(entry.urls)
        if len(tried) == 1:
            raise ServiceError('the registry does not answer')
        publish(entry)

    monkeypatch.setattr(registry, 'publish', down_once)
    second = sm._urls[1]
    with pytest.warns(RuntimeWarning, match='publishing their URLs failed .*trying again every second'):
        sm._impl._deployment.urls_changed([second])
    assert wait_until(lambda: registry.lookup('retried').urls == [second])
    assert tried == [[second], [second]]


def test_a_stopped_deployment_no_longer_publishes(started):
    sm = ServerModule(echo, launcher='thread', num_replicas=2, id='stopped-moving')
    started(sm)
    deployment = sm._impl._deployment
    sm.stop()
    deployment.urls_changed(['http://127.0.0.1:9'])  # a late report of a replica's move
    assert get_registry().lookup('stopped-moving') is None


def test_a_copy_calls_the_service_where_the_registry_says_it_runs_now(started):
    first = ServerModule(echo, launcher='thread', id='followed')
    started(first)
    copy = pickle.loads(pickle.dumps(first))
    other = ServerModule(lambda x: ['elsewhere', x], launcher='thread')
    started(other)
    entry = get_registry().lookup('followed')
    entry.urls = other._urls  # the service moved (its owner published the new URLs)
    get_registry().publish(entry)
    assert copy(1) == ['elsewhere', 1]


def test_a_copy_whose_known_replicas_all_refuse_asks_the_registry_where_the_service_went(started):
    sm = ServerModule(echo, launcher='thread', id='went')
    started(sm)
    copy = pickle.loads(pickle.dumps(sm))
    assert copy(1) == 1
    other = ServerModule(lambda x: ['moved', x], launcher='thread')
    started(other)
    entry = get_registry().lookup('went')
    sm._impl._deployment.stop()  # its replica is gone; the entry now names the other server
    entry.urls = other._urls
    get_registry().publish(entry)
    assert copy(2) == ['moved', 2]  # refused where it was, found where the registry says


def test_a_client_in_use_looks_its_service_up_again_now_and_then(started, monkeypatch):
    from lazyplug.serve import client
    sm = ServerModule(echo, launcher='thread', id='looked-up')
    started(sm)
    copy = pickle.loads(pickle.dumps(sm))
    assert copy(1) == 1
    other = ServerModule(lambda x: ['elsewhere', x], launcher='thread')
    started(other)
    entry = get_registry().lookup('looked-up')
    entry.urls = other._urls  # published elsewhere; the old replica still answers
    get_registry().publish(entry)
    monkeypatch.setattr(client, 'REFRESH_EVERY', 0.0)  # every call starts a look-up in the background
    assert wait_until(lambda: copy(2) == ['elsewhere', 2])


def test_a_copy_keeps_the_urls_it_was_given_when_the_registry_cannot_answer(started, tmp_path):
    sm = ServerModule(echo, launcher='thread', id='kept')
    started(sm)
    copy = pickle.loads(pickle.dumps(sm))
    with config.temp('registry', f'sqlite:///{tmp_path}/elsewhere.sqlite'):  # a registry that has never heard of it
        assert copy(3) == 3


def test_a_server_process_looks_services_up_in_the_registry_the_deploying_process_publishes_in(started, tmp_path):
    url = f'sqlite:///{tmp_path}/set-in-code.sqlite'

    def registry_here(_):
        from lazyplug import config
        return config['registry']

    with config.temp('registry', url):  # set in code: the server process's environment does not say it
        sm = ServerModule(registry_here, launcher='local')
        started(sm)
        assert sm(0) == url


def test_stop_removes_the_entry_from_the_registry_it_was_published_in_whatever_the_setting_is_then(tmp_path):
    url = f'sqlite:///{tmp_path}/first.sqlite'
    with config.temp('registry', url):
        sm = ServerModule(echo, launcher='thread', id='published-there')
        sm.start()
    try:
        assert get_registry(url).lookup('published-there') is not None
    finally:
        sm.stop()  # the registry setting is the default again
    assert get_registry(url).lookup('published-there') is None


# -- replicas no call reaches ---------------------------------------------------------------------

def test_a_replica_that_refuses_is_tried_last_until_it_answers_again(started):
    sm = ServerModule(echo, launcher='thread', num_replicas=2)
    started(sm)
    dead = 'http://127.0.0.1:9'  # the discard port: nothing listens there
    client = sm._impl._service()
    client.urls = [dead, *sm._urls]
    assert [sm(i) for i in range(6)] == list(range(6))
    assert reachability.suspected(dead)
    assert not any(map(reachability.suspected, sm._urls))
    reachability.reached(dead)  # the process's state, for the tests after this one


def test_every_replica_unreachable_is_one_error_naming_each_and_saying_the_call_did_not_run(started):
    sm = ServerModule(echo, launcher='thread', num_replicas=2)
    started(sm)
    urls = sm._urls
    sm._impl._service()
    sm._impl._deployment.stop()
    with pytest.raises(ServiceUnavailableError, match='none of the 2 replicas') as error:
        sm(0)
    assert all(url in str(error.value) for url in urls) and str(error.value).endswith('the call did not run')


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_a_suspect_is_probed_until_it_answers():
    answers = {'http://b': [False, False, True]}
    probed = []

    def probe(base):
        probed.append(base)
        return answers[base].pop(0)

    reach = Reachability(probe)
    reach.unreachable('http://b')
    assert reach.suspected('http://b') and reach.any()
    assert wait_until(lambda: not reach.any(), timeout=10)  # 0.25 s, then 0.5 s, then 1 s later
    assert probed == ['http://b'] * 3


def test_a_suspect_that_answers_a_call_is_reachable_at_once():
    reach = Reachability(lambda base: False)
    reach.unreachable('http://b')
    reach.reached('http://b')
    assert not reach.suspected('http://b') and not reach.any()


def test_a_probe_that_raises_counts_as_no_answer():
    calls = []

    def probe(base):
        calls.append(base)
        if len(calls) == 1:
            raise OSError('the probe itself failed')
        return True

    reach = Reachability(probe)
    reach.unreachable('http://b')
    assert wait_until(lambda: not reach.any(), timeout=10) and len(calls) == 2
