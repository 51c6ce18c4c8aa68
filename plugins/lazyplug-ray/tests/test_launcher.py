"""The ray launcher against the session's real Ray cluster: the same results, wire format, security
and errors as the local launcher; replicas, restarts, and nothing left behind."""

import os
import signal

import lazyplug
import psutil
import pytest
from lazyplug import ServerModule, config, pipeline
from lazyplug.errors import AuthenticationError, InvalidArgumentError, LaunchError, RemoteError, TaskFailedError
from lazyplug.services import get_registry

from lazyplug_ray import RayDeployment, RayLauncher
from ray_helpers import assert_nothing_left, replicas, state_address, wait_until

pytestmark = pytest.mark.usefixtures('nothing_left')


def describe(x, *rest, **kw):
    """Whatever came in, as the wire carries it back."""
    return {'x': x, 'rest': rest, 'kw': kw, 'types': [type(v).__name__ for v in (x, *rest)]}


def whoami(_):
    return os.getpid()


class HeavyWhoami:
    """Too large to travel inline with the actor's creation: Ray keeps it in its object store."""

    def __init__(self):
        self.ballast = os.urandom(1 << 20)

    def __call__(self, _):
        return os.getpid()


def fail(x):
    raise ValueError(f'no good: {x}')


def double(x):
    return 2 * x


def plus_one(x):
    return x + 1


class Unshippable:
    """Unpickles into an error: its replica fails while starting."""

    def __init__(self):
        self.state = 'something to restore'

    def __call__(self, x):
        return x

    def __setstate__(self, state):
        raise RuntimeError('this module cannot be unpickled in a replica')


def deployment(sm):
    return sm._impl._deployment


CALLS = [((1,), {}), (('text', (1, 2), b'\x00bytes'), {'k': {3: 'int key'}}), (([1, [2]], {1, 2}), {})]


def test_a_service_on_ray_answers_as_on_local(started):
    on_ray = started(ServerModule(describe, launcher='ray'))
    on_local = started(ServerModule(describe, launcher='local'))
    assert isinstance(deployment(on_ray), RayDeployment)
    for args, kw in CALLS:
        assert on_ray(*args, **kw) == on_local(*args, **kw) == describe(*args, **kw)


def test_nested_server_modules_on_ray_give_the_local_results(started):
    def app(launcher):
        inner = ServerModule(pipeline(double, ServerModule(plus_one, launcher=launcher)), launcher=launcher)
        return ServerModule(pipeline(plus_one, inner, double), launcher=launcher)

    on_ray, on_local = started(app('ray')), started(app('local'))
    assert [on_ray(x) for x in range(5)] == [on_local(x) for x in range(5)] == [2 * (2 * (x + 1) + 1) for x in range(5)]
    assert len(replicas()) == 3


def test_the_launcher_setting_chooses_ray(started):
    with config.temp('launcher', 'ray'):
        sm = started(ServerModule(double))
    assert isinstance(deployment(sm), RayDeployment)
    assert sm(21) == 42


def test_urls_are_published_in_the_service_registry(started):
    sm = started(ServerModule(double, launcher='ray', num_replicas=2))
    entry = get_registry().lookup(sm._impl._module_id)
    assert entry is not None and entry.urls == sm._urls and len(entry.urls) == 2
    assert lazyplug.UrlModule(url=entry.urls[1])(4) == 8


def test_a_security_key_is_required_as_with_local(started):
    sm = started(ServerModule(double, launcher='ray', security_key='sk-ray-test'))
    assert sm(2) == 4
    with pytest.raises(AuthenticationError):
        lazyplug.UrlModule(url=sm._url)(2)
    with pytest.raises(AuthenticationError):
        lazyplug.UrlModule(url=sm._url, security_key='sk-wrong')(2)


def test_an_error_in_the_module_is_raised_by_the_caller_and_the_service_keeps_serving(started):
    sm = started(ServerModule(fail, launcher='ray'))
    with pytest.raises(RemoteError, match='no good: 7') as info:
        sm(7)
    assert info.value.remote_type == 'ValueError'
    with pytest.raises(RemoteError, match='no good: 8'):
        sm(8)


def test_an_error_in_the_module_is_logged_by_the_replica_with_its_traceback(started):
    from lazyplug.serve.log import tail
    sm = started(ServerModule(fail, launcher='ray', num_replicas=2))
    for x in (7, 8):
        with pytest.raises(RemoteError):
            sm(x)
    logged = '\n'.join(tail(get_registry().lookup(sm._impl._module_id).log, 1000))
    assert logged.count('Traceback (most recent call last):') == 2
    assert 'ValueError: no good: 7' in logged and 'ValueError: no good: 8' in logged


def test_calls_are_spread_over_the_replicas(started):
    sm = started(ServerModule(whoami, launcher='ray', num_replicas=2))
    pids = deployment(sm).replica_pids()
    assert len(set(pids)) == 2
    assert {sm(i) for i in range(6)} == set(pids)
    assert sorted(a.pid for a in replicas()) == sorted(pids)


def test_a_killed_replica_is_restarted_by_ray_and_calls_succeed_again(started):
    sm = started(ServerModule(HeavyWhoami(), launcher='ray', num_replicas=2))
    urls = sm._urls
    killed, kept = deployment(sm).replica_pids()
    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: not psutil.pid_exists(killed), timeout=10)
    # meanwhile the client passes over the replica that refuses connections: no call fails
    assert killed not in {sm(i) for i in range(4)}

    def every_replica_answers():
        try:
            return {lazyplug.UrlModule(url=url)(0) for url in urls}
        except lazyplug.errors.ServiceUnavailableError:
            return None

    answering = wait_until(every_replica_answers, timeout=60, pause=0.1)
    assert answering and killed not in answering and kept in answering and len(answering) == 2
    assert {sm(i) for i in range(4)} == answering  # at the published URLs, through the ServerModule
    assert sm._urls == urls


def test_a_replica_ray_restarts_is_withdrawn_while_it_is_down_and_published_again_once_it_serves(started):
    sm = started(ServerModule(whoami, launcher='ray', num_replicas=2, id='restarting'))
    urls = sm._urls
    published = []  # what the registry lists after each change (the ServerModule publishes first)
    deployment(sm).on_urls_changed(lambda: published.append(get_registry().lookup('restarting').urls))
    killed, _ = deployment(sm).replica_pids()
    os.kill(killed, signal.SIGKILL)
    assert wait_until(lambda: len(published) >= 2, timeout=60), published
    assert published == [urls[1:], urls]  # here Ray restarts it on the same node, at the same port
    assert sm(0) in deployment(sm).replica_pids()


def test_a_replica_ray_will_not_restart_is_withdrawn_for_good(started):
    sm = started(ServerModule(whoami, launcher=RayLauncher(max_restarts=0), num_replicas=2, id='not-restarted'))
    urls = sm._urls
    killed, kept = deployment(sm).replica_pids()
    os.kill(killed, signal.SIGKILL)
    assert wait_until(lambda: get_registry().lookup('not-restarted').urls == urls[1:], timeout=60)
    assert {sm(i) for i in range(4)} == {kept}


def test_wait_returns_once_the_service_is_stopped():
    import threading
    sm = ServerModule(double, launcher='ray', num_replicas=2)
    sm.start()
    waiter = threading.Thread(target=sm.wait)
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive()  # serving: wait() blocks
    sm.stop()
    waiter.join(60)
    assert not waiter.is_alive()


def test_stop_removes_the_replicas_from_the_cluster_and_the_machine():
    sm = ServerModule(whoami, launcher='ray', num_replicas=2)
    sm.start()
    assert len(replicas()) == 2
    sm.stop()
    assert_nothing_left()
    assert get_registry().lookup(sm._impl._module_id) is None


def test_a_failed_update_removes_what_it_had_deployed():
    app = pipeline(ServerModule(double, launcher='ray'), ServerModule(Unshippable(), launcher='ray'))
    with pytest.raises(TaskFailedError) as info:
        lazyplug.ActionModule(app).start()
    assert isinstance(info.value.__cause__, LaunchError)
    assert 'cannot be unpickled in a replica' in str(info.value.__cause__)
    assert_nothing_left()


def test_a_replica_ray_cannot_place_fails_clearly_and_leaves_nothing():
    sm = ServerModule(double, launcher=RayLauncher(num_gpus=1, start_timeout=3), num_replicas=2)
    with pytest.raises(TaskFailedError) as info:
        sm.start()
    message = str(info.value.__cause__)
    assert 'did not start within 3 s' in message and "'num_gpus': 1" in message
    assert_nothing_left()


def test_resources_are_asked_of_ray(started):
    sm = started(ServerModule(double, launcher=RayLauncher(num_cpus=0.5, memory=50 * 2**20)))
    import ray
    from ray.util.state import get_actor
    [actor] = replicas()
    assert get_actor(actor.actor_id, address=state_address()).required_resources == {'CPU': 0.5, 'memory': 50 * 2**20}
    assert ray.available_resources().get('CPU', 0) <= 1.5
    assert sm(3) == 6


@pytest.mark.parametrize(('options', 'named'), [
    ({'num_cpu': 1}, "no option 'num_cpu'"),
    ({'num_cpus': -1}, 'num_cpus=-1'),
    ({'memory': 1.5}, 'memory=1.5'),
    ({'max_restarts': -2}, 'max_restarts=-2'),
    ({'address': ''}, "address=''"),
    ({'working_dir': '/no/such/directory'}, "working_dir='/no/such/directory'"),
])
def test_bad_options_are_named(options, named):
    with pytest.raises(InvalidArgumentError, match=named):
        RayLauncher(**options)


def test_a_working_dir_cannot_be_shipped_on_a_connection_the_application_made():
    sm = ServerModule(double, launcher=RayLauncher(working_dir='.'))  # the session's ray.init made it
    with pytest.raises(TaskFailedError) as info:
        sm.start()
    assert 'connected to Ray already, by the application' in str(info.value.__cause__)
    assert get_registry().lookup(sm._impl._module_id) is None


def test_the_plugin_registers_the_launcher_made_with_its_options():
    from lazyplug.factories import launcher_names, make_launcher
    assert 'ray' in launcher_names()
    launcher = make_launcher('ray', {'num_cpus': 1})
    assert isinstance(launcher, RayLauncher) and launcher.actor_options['num_cpus'] == 1
    with pytest.raises(InvalidArgumentError, match="no option 'gpus'"):
        make_launcher('ray', {'gpus': 1})
