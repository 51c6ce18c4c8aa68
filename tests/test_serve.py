"""ServerModule, UrlModule and the launchers, against real servers (child processes and threads)."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

import lazyplug
from lazyplug import ServerModule, UrlModule, _0, bind, config, globals, pipeline
from lazyplug.errors import (
    AuthenticationError,
    CallOutcomeUnknownError,
    CodecError,
    InvalidArgumentError,
    LaunchError,
    RemoteError,
    ServiceUnavailableError,
    TaskFailedError,
)
from lazyplug.module import ModuleBase
from serve_helpers import raw

LAUNCHERS = ['thread', 'local']


pytestmark = pytest.mark.usefixtures('nothing_left_running')


class Upper(ModuleBase):
    def forward(self, text):
        return text.upper()

    def shout(self, text, times=1):
        return text.upper() + '!' * times


def pid_of_server(_):
    return os.getpid()


def fails(x):
    raise KeyError(f'no such thing: {x}')


# -- calling ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('launcher', LAUNCHERS)
def test_calling_a_started_server_module_calls_the_service(launcher, started):
    sm = started(ServerModule(Upper(), launcher=launcher))
    assert sm._url.startswith('http://127.0.0.1:')
    assert sm('abc') == 'ABC'


@pytest.mark.parametrize('launcher', LAUNCHERS)
def test_call_runs_another_method_of_the_served_object(launcher, started):
    sm = started(ServerModule(Upper(), launcher=launcher))
    assert sm._call('shout', 'hi', times=2) == 'HI!!'


def test_values_keep_their_types_on_the_wire(started):
    sm = started(ServerModule(lambda *a, **k: (a, k), launcher='thread'))
    result = sm((1, 2), b'\x00', {3: 'x'}, {1}, k=lazyplug.package(4, 5))
    assert result == (((1, 2), b'\x00', {3: 'x'}, {1}), {'k': (4, 5)})
    assert type(result[1]['k']) is lazyplug.package


def test_pre_and_post_run_in_the_server(started):
    sm = started(ServerModule(lambda x: x * 2, pre=lambda x: x + 1, post=lambda out, original: (original, out),
                              launcher='thread'))
    assert sm(3) == (4, 8)


def test_evaluation_goes_through_the_service(started):
    sm = ServerModule(lambda x: x.upper(), launcher='local')
    started(sm)
    sm.evalset(['input1', 'input2'])
    assert sm.eval().eval_result == ['INPUT1', 'INPUT2']


def test_a_flow_is_served_as_one_module_and_nested_server_modules_call_each_other(started):
    inner = ServerModule(lambda x: x + 1, launcher='local')
    outer = started(ServerModule(lazyplug.pipeline(inner, lambda x: x * 10), launcher='local'))
    assert outer(1) == 20
    inner.stop()


def test_replicas_share_the_calls(started):
    sm = started(ServerModule(pid_of_server, launcher='local', num_replicas=2))
    assert len(sm._urls) == 2
    assert len({sm(i) for i in range(6)}) == 2


def _wait_gone(pid):
    try:
        psutil.Process(pid).wait(10)
    except psutil.NoSuchProcess:
        pass


def test_a_replica_that_refuses_connections_is_passed_over_for_the_next(started):
    sm = started(ServerModule(pid_of_server, launcher='local', num_replicas=2))
    first, second = {url: UrlModule(url=url)(0) for url in sm._urls}.values()
    os.kill(first, signal.SIGKILL)
    _wait_gone(first)  # until then its port may still take a connection
    assert {sm(i) for i in range(4)} == {second}  # every call answered, by the replica still there
    second_url = sm._urls[1]
    os.kill(second, signal.SIGKILL)
    _wait_gone(second)
    with pytest.raises(ServiceUnavailableError, match=second_url.replace('.', r'\.')):
        sm(0)  # none left: the last refusal is the error


def test_globals_travel_with_each_request_and_come_back(started):
    def greet(name):
        globals['seen'] = globals.get('user')
        return f'hello {name} from {globals["user"]}'

    sm = started(ServerModule(greet, launcher='local'))
    with globals.session({'user': 'ada'}):
        assert sm('bob') == 'hello bob from ada'
        assert globals['seen'] == 'ada'


def xy2z(x, y, z=0):
    return x + y + 2 * z


def test_a_served_pipeline_resolves_its_references_from_nested_flows_in_the_server(started):
    with pipeline() as p:
        p.f1 = lambda x: x + 1
        p.f2 = lambda x: x + 1
        p.f3 = lambda x: x + 1
        with lazyplug.parallel().sum as p.sub:
            p.sub.a = xy2z | bind(y=p.input, z=p.output('f1'))
            p.sub.b = xy2z | bind(y=p.input, z=p.output('f2'))
    sm = started(ServerModule(p, launcher='local'))
    assert sm(3) == p(3) == 36  # (6 + 3 + 8) + (6 + 3 + 10)


def test_a_value_bound_to_a_server_module_travels_with_the_call(started):
    sm = started(ServerModule(lambda earlier, latest: f'{earlier}->{latest}', launcher='thread'))
    with pipeline() as p:
        p.first = lambda x: x * 2
        p.second = lambda x: x + 1
        p.remote = sm | bind(p.input, _0)
        p.again = bind(sm, p.output('first'), _0)
    assert p(5) == '10->5->11'


def test_url_modules_call_a_service_that_is_already_running(started):
    running = started(ServerModule(Upper(), launcher='thread', security_key='sk-test'))
    for client in (UrlModule(url=running._url, security_key='sk-test'),
                   ServerModule(url=running._url, security_key='sk-test')):
        assert client('x') == 'X'
        assert client.start() is client  # nothing to deploy
    assert repr(UrlModule(url=running._url)).startswith('<Module type=Url url=http://127.0.0.1:')


def test_a_server_module_is_a_url_module_whose_url_is_where_calls_are_posted(started):
    sm = started(ServerModule(Upper(), launcher='thread'))
    assert isinstance(sm, UrlModule) and isinstance(UrlModule(url=sm._url), ServerModule)
    assert sm._url == sm._urls[0] + '/call' and sm._urls[0].startswith('http://127.0.0.1:')
    for url in (sm._url, sm._urls[0], sm._urls[0] + '/'):  # what calls are posted to, or the bare service
        for client in (UrlModule(url=url), UrlModule(url), ServerModule(url), ServerModule(url=url)):
            assert client._url == sm._url and client('x') == 'X'


def test_a_url_that_is_not_a_services_is_refused_saying_what_is_expected():
    for bad in ('http://127.0.0.1:8000/generate', 'ftp://127.0.0.1:8000', 'http://127.0.0.1', 42):
        with pytest.raises(InvalidArgumentError, match=r'expected http://host:port or http://host:port/call'):
            UrlModule(url=bad)
    with pytest.raises(InvalidArgumentError, match='two URLs'):
        ServerModule('http://127.0.0.1:8000', url='http://127.0.0.1:8001')


def test_lazyllms_empty_launcher_serves_in_a_child_process(started):
    launcher = lazyplug.launchers.empty(sync=False)
    assert (launcher.subprocess, launcher.sync) == (False, False) and not lazyplug.launchers.empty().subprocess
    sm = started(ServerModule(pid_of_server, launcher=launcher))
    assert sm(0) != os.getpid()
    with pytest.raises(InvalidArgumentError, match='does not place services on GPUs'):
        lazyplug.launchers.empty(ngpus=1)


def test_a_synchronous_empty_launcher_serves_in_the_foreground_until_the_service_ends():
    from lazyplug.services import get_registry
    sm = ServerModule(pid_of_server, launcher=lazyplug.launchers.empty())  # sync=True, LazyLLM's default
    returned = threading.Event()
    starting = threading.Thread(target=lambda: (sm.start(), returned.set()), daemon=True)
    starting.start()
    deadline = time.monotonic() + 60
    while sm._url is None and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        assert sm(0) != os.getpid() and not returned.is_set()  # serving, and start() has not returned
        assert get_registry().lookup(sm._impl._module_id) is not None
    finally:
        sm._impl._deployment.stop()  # the service ends ...
    starting.join(30)
    assert returned.is_set() and sm._url is None  # ... and start() returns, its entry gone
    assert get_registry().lookup(sm._impl._module_id) is None


def test_stop_all_stops_every_service_of_this_process_and_start_deploys_again(started):
    from lazyplug.services import get_registry
    sm = started(ServerModule(Upper(), launcher='local'))
    first_url = sm._url
    lazyplug.launchers.stop_all()
    with pytest.raises(ServiceUnavailableError):
        sm('x')
    sm.start()
    assert sm('x') == 'X' and sm._url != first_url
    assert get_registry().lookup(sm._impl._module_id).urls == sm._urls


def test_the_registry_lists_a_service_while_it_runs():
    from lazyplug.services import get_registry
    sm = ServerModule(Upper(), launcher='thread').start()
    try:
        entry = get_registry().lookup(sm._impl._module_id)
        assert entry.urls == sm._urls and entry.owner_pid == os.getpid()
    finally:
        sm.stop()
    assert get_registry().lookup(sm._impl._module_id) is None


def test_a_service_given_an_id_is_published_under_it_and_found_by_another_copy(started):
    from lazyplug.services import get_registry
    sm = started(ServerModule(Upper(), launcher='thread', id='upper-service.v2'))
    entry = get_registry().lookup('upper-service.v2')
    assert entry is not None and entry.urls == sm._urls
    # a module of the same id that did not deploy (in another process, say) calls the running service
    assert ServerModule(Upper(), id='upper-service.v2')('via the registry') == 'VIA THE REGISTRY'


@pytest.mark.parametrize('bad', ['', ' upper', 'up per', 'up/per', '-upper', 'x' * 129, 7, b'upper'])
def test_a_bad_service_id_is_an_error_naming_it(bad):
    with pytest.raises(InvalidArgumentError, match='ServerModule id must be') as info:
        ServerModule(Upper(), id=bad)
    assert repr(bad)[:40] in str(info.value)


def test_an_id_for_a_service_at_a_url_is_an_error():
    with pytest.raises(InvalidArgumentError, match="id='upper'"):
        ServerModule(url='http://127.0.0.1:8000', id='upper')


def test_restart_stops_and_starts_again(started):
    sm = started(ServerModule(pid_of_server, launcher='local'))
    first = sm(0)
    assert sm.start()(0) == first  # start() on a running service keeps it
    assert sm.restart()(0) != first


def test_update_with_workers_deploys_independent_services_at_once(started):
    spans = []

    class Spans:
        @lazyplug.hookimpl(wrapper=True)
        def lazyplug_run_task(self, module, phase, task):
            start = time.monotonic()
            result = yield
            spans.append((start, time.monotonic()))
            return result

    lazyplug.plugins.register(Spans(), name='spans')
    app = lazyplug.ActionModule(*[ServerModule(lambda x, i=i: x + i, launcher='local') for i in range(3)])
    started(app, workers=3)
    assert app(0) == 3
    assert len(spans) == 3
    assert max(start for start, _ in spans) < min(end for _, end in spans)  # all three were starting at once


# -- security and bad input -------------------------------------------------------------------------

def test_security_key_true_generates_one_and_every_call_must_carry_it(started):
    sm = started(ServerModule(Upper(), launcher='thread', security_key=True))
    assert sm._security_key.startswith('sk-') and sm('a') == 'A'
    with pytest.raises(AuthenticationError, match=r'^Authentication failed'):
        UrlModule(url=sm._url, security_key='sk-wrong')('a')
    with pytest.raises(AuthenticationError, match=r'^Authentication failed'):
        UrlModule(url=sm._url)('a')
    assert raw(sm._urls[0], 'GET', '/health')[0] == 200  # health needs no key


def test_a_server_bound_beyond_loopback_needs_a_key():
    with pytest.raises(TaskFailedError) as info:
        ServerModule(Upper(), launcher='local', host='0.0.0.0').start()
    assert isinstance(info.value.__cause__, InvalidArgumentError) and 'security key' in str(info.value.__cause__)


@pytest.mark.parametrize('launcher', LAUNCHERS)
def test_a_server_bound_to_every_interface_publishes_the_advertised_host(started, launcher):
    # any address of this machine reaches a server bound to 0.0.0.0: 127.0.0.2 stands for the
    # address other machines would use
    with config.temp('advertise_host', '127.0.0.2'):
        sm = started(ServerModule(Upper(), launcher=launcher, host='0.0.0.0', security_key=True))
    assert sm._url.startswith('http://127.0.0.2:')
    from lazyplug.services import get_registry
    assert get_registry().lookup(sm._impl._module_id).urls == sm._urls
    assert sm('reached') == 'REACHED'


def test_a_server_bound_to_every_interface_is_published_at_the_machines_address(started):
    from lazyplug.launchers.base import _machine_address
    sm = started(ServerModule(Upper(), launcher='thread', host='0.0.0.0', security_key=True))
    assert sm._url.startswith(f'http://{_machine_address()}:')
    assert sm('reached') == 'REACHED'


def test_the_machines_address_is_not_loopback_when_it_has_another(monkeypatch):
    import socket

    from lazyplug.launchers.base import _machine_address, url_host
    monkeypatch.setattr(socket, 'getaddrinfo', lambda *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, '', ('127.0.1.1', 0)),  # Debian's /etc/hosts line
        (socket.AF_INET, socket.SOCK_STREAM, 6, '', ('198.51.100.7', 0))])
    assert _machine_address() == '198.51.100.7'
    assert url_host('0.0.0.0') == url_host('::') == '198.51.100.7'
    assert (url_host('localhost'), url_host('10.1.2.3'), url_host('::1')) == ('127.0.0.1', '10.1.2.3', '[::1]')


@pytest.mark.parametrize('body, status, words', [
    (b'{not json', 400, 'malformed JSON'),
    (b'[1, 2]', 400, 'JSON object'),
    (b'{"args": 5}', 400, '"args" must be a list'),
    (b'{"args": [{"__lp__": "alien"}]}', 400, "unknown value tag 'alien'"),
])
def test_bad_requests_get_a_4xx_with_a_message_and_the_server_keeps_serving(body, status, words, started):
    sm = started(ServerModule(Upper(), launcher='local'))
    code, reply = raw(sm._urls[0], 'POST', '/call', body)
    assert code == status and words in reply['error']['message']
    assert sm('still') == 'STILL'


def test_unknown_methods_and_endpoints_are_404(started):
    sm = started(ServerModule(Upper(), launcher='thread'))
    code, reply = raw(sm._urls[0], 'POST', '/method', b'{"method": "vanish", "args": []}')
    assert code == 404 and "no method 'vanish'" in reply['error']['message']
    assert raw(sm._urls[0], 'POST', '/method', b'{"method": "_private", "args": []}')[0] == 400
    assert raw(sm._urls[0], 'GET', '/elsewhere')[0] == 404
    with pytest.raises(RemoteError, match="no method 'vanish'"):
        sm._call('vanish')


def test_an_oversized_body_is_413(started):
    with config.temp('max_request_bytes', 1000):
        sm = started(ServerModule(Upper(), launcher='local'))
    with pytest.raises(RemoteError, match=r'413.*larger than 1000 bytes'):
        sm('x' * 2000)
    assert sm('small') == 'SMALL'


@pytest.mark.parametrize('launcher', LAUNCHERS)
def test_an_exception_in_forward_is_raised_at_the_caller_naming_the_module(launcher, started):
    sm = started(ServerModule(fails, launcher=launcher))
    with pytest.raises(RemoteError) as info:
        sm('x')
    assert info.value.remote_type == 'KeyError' and 'no such thing: x' in str(info.value)
    assert 'fails served by ServerModule' in str(info.value) and sm._urls[0] in str(info.value)
    with pytest.raises(RemoteError):
        sm('again')  # the server keeps serving


def test_a_value_that_cannot_travel_fails_at_the_caller_before_sending(started):
    calls = []
    sm = started(ServerModule(lambda x: calls.append(x), launcher='thread'))
    with pytest.raises(CodecError, match=r'args\[0\] is a builtins.object, which cannot travel'):
        sm(object())
    assert calls == []


def test_a_server_killed_from_outside_fails_the_next_call_naming_its_url(started):
    sm = started(ServerModule(Upper(), launcher='local'))
    assert sm('a') == 'A'
    pid = sm._impl._deployment.pids[0]
    os.kill(pid, signal.SIGKILL)
    psutil.Process(pid).wait(10)
    url = sm._urls[0].replace('.', r'\.')
    # the kept-alive connection's close may reach this end after the call was written on it (a
    # loaded machine): then the call may have run, as far as this end can tell
    with pytest.raises((ServiceUnavailableError, CallOutcomeUnknownError), match=url):
        sm('b')
    with pytest.raises(ServiceUnavailableError, match=f'{url}.*did not run'):
        sm('c')  # refused: it did not run


# -- start-up and clean-up ----------------------------------------------------------------------------

class Exploding:
    """Unpickles in the server process by printing and failing."""

    def __reduce__(self):
        return (explode, ())

    def __call__(self, x):
        return x


def explode():
    print('boom in the child', flush=True)
    raise RuntimeError('cannot unpickle here')


class Slow:
    def __reduce__(self):
        return (sleep_then_serve, ())

    def __call__(self, x):
        return x


def sleep_then_serve():
    print('waking slowly', flush=True)
    time.sleep(30)
    return Slow()


def test_a_server_that_dies_while_starting_reports_its_last_output():
    with pytest.raises(TaskFailedError) as info:
        ServerModule(Exploding(), launcher='local').start()
    assert isinstance(info.value.__cause__, LaunchError)
    assert 'boom in the child' in str(info.value.__cause__) and 'exited' in str(info.value.__cause__)


def test_a_server_that_does_not_answer_in_time_is_stopped_and_reported():
    with config.temp('start_timeout', 1.0):
        with pytest.raises(TaskFailedError) as info:
            ServerModule(Slow(), launcher='local').start()
    message = str(info.value.__cause__)
    assert 'within 1 s' in message and 'waking slowly' in message


def test_a_failed_update_stops_every_service_it_started():
    good = ServerModule(Upper(), launcher='local')
    bad = ServerModule(Exploding(), launcher='local')
    app = lazyplug.ActionModule(good, bad)
    with pytest.raises(TaskFailedError):
        app.update(workers=2)
    assert good._url is None
    with pytest.raises(lazyplug.errors.ServiceError, match='not running'):
        good('x')


def test_servers_exit_when_their_parent_is_killed(tmp_path):
    script = textwrap.dedent('''
        import sys, time, lazyplug
        from lazyplug.launchers.local import fork_server_pid
        sm = lazyplug.ServerModule(lambda x: x, launcher='local', num_replicas=2).start()
        print(' '.join(map(str, [*sm._impl._deployment.pids, fork_server_pid()])), flush=True)
        time.sleep(60)
    ''')
    parent = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 3 and all(psutil.pid_exists(p) for p in pids)  # two servers, one fork server
        parent.kill()
        parent.wait(10)
        _, alive = psutil.wait_procs([psutil.Process(p) for p in pids if psutil.pid_exists(p)], timeout=10)
        assert not alive, f'server processes outlived their parent: {alive}'
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


def test_bad_arguments_are_refused_at_construction():
    for kwargs, words in [({}, 'one of them'), ({'m': Upper(), 'url': 'http://h:1'}, 'one of them'),
                          ({'m': 5}, 'not 5'), ({'m': Upper(), 'num_replicas': 0}, 'num_replicas'),
                          ({'m': Upper(), 'port': 70000}, 'port'), ({'url': 'ftp://x'}, 'not the URL'),
                          ({'m': Upper(), 'security_key': ''}, 'security_key'),
                          ({'m': Upper(), 'security_key': 'a\r\nX-Evil: 1'}, 'visible ASCII'),
                          ({'m': Upper(), 'stream': True}, 'stream')]:
        with pytest.raises(InvalidArgumentError, match=words):
            ServerModule(**kwargs)
    with pytest.raises(InvalidArgumentError, match="no option 'colour'"):
        from lazyplug.launchers.local import LocalLauncher
        LocalLauncher(colour='red')


def test_the_health_check_tells_a_lazyplug_server_from_a_closed_port_and_from_other_servers(started):
    import socket
    import threading

    from lazyplug.serve.client import health

    sm = started(ServerModule(Upper(), launcher='thread', security_key=True))
    assert health(sm._url)

    with socket.socket() as closed:
        closed.bind(('127.0.0.1', 0))
        closed_port = closed.getsockname()[1]
    assert not health(f'http://127.0.0.1:{closed_port}', timeout=0.5)

    with socket.create_server(('127.0.0.1', 0)) as other:
        def answer_garbage():
            conn, _ = other.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b'SSH-2.0-OpenSSH\r\n\r\n')

        thread = threading.Thread(target=answer_garbage)
        thread.start()
        assert not health(f'http://127.0.0.1:{other.getsockname()[1]}', timeout=2)
        thread.join()
