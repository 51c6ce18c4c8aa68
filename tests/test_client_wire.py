"""The client on the wire: what HTTP/1.1 servers and proxies send, and a call that runs at most once.

The servers here are real TCP servers on loopback, scripted by each test (serve_helpers), or real
lazyplug servers.
"""

import os
import socket
import threading
import time

import pytest

from lazyplug import ServerModule, UrlModule, config
from lazyplug.errors import (
    AuthenticationError,
    CallOutcomeUnknownError,
    CallTimeoutError,
    CodecError,
    ServiceBusyError,
    ServiceUnavailableError,
)
from serve_helpers import ScriptedServer, reply

pytestmark = pytest.mark.usefixtures('nothing_left_running')


@pytest.fixture
def scripted():
    """Start ScriptedServers and close them whatever the test does."""
    servers = []

    def start(answer, **kw):
        servers.append(ScriptedServer(answer, **kw))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


# -- what servers and proxies send ----------------------------------------------------------------

def test_a_chunked_reply_is_read_and_the_connection_kept(scripted):
    body = b'{"result": "in three chunks", "globals": {}}'
    parts = [body[:5], body[5:20], body[20:]]
    chunked = b''.join(b'%x;ext=1\r\n%s\r\n' % (len(p), p) for p in parts) + b'0\r\nTrailer: x\r\n\r\n'
    server = scripted(lambda n: b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + chunked)
    client = UrlModule(url=server.url)
    assert client('a') == 'in three chunks'
    assert client('b') == 'in three chunks'
    assert server.connections == 1


def test_a_reply_delimited_by_the_end_of_the_connection_is_read(scripted):
    server = scripted(lambda n: b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n'
                                b'{"result": "until closed", "globals": {}}', close_after=True)
    client = UrlModule(url=server.url)
    assert client('a') == 'until closed'
    assert client('b') == 'until closed'  # on a new connection
    assert server.connections == 2


def test_interim_replies_such_as_100_continue_are_passed_over(scripted):
    server = scripted(lambda n: b'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n'
                                + reply('after the interim replies'))
    assert UrlModule(url=server.url)('a') == 'after the interim replies'


def test_a_reply_that_asks_to_close_the_connection_closes_it(scripted):
    server = scripted(lambda n: reply(n, headers=b'Connection: close\r\n'))
    client = UrlModule(url=server.url)
    assert [client('a'), client('b')] == [1, 2]
    assert server.connections == 2


def test_a_refused_key_is_an_authentication_error_that_says_so(started):
    sm = started(ServerModule(lambda x: x, launcher='thread', security_key=True))
    with pytest.raises(AuthenticationError, match=f'^Authentication failed at {sm._urls[0]}: .*Security-Key'):
        UrlModule(url=sm._url, security_key='sk-wrong')('a')


@pytest.mark.parametrize('status, error, words', [
    (404, ServiceUnavailableError, 'answered 404 with something that is not lazyplug JSON.*did not run'),
    (502, CallOutcomeUnknownError, 'answered 502 with something that is not lazyplug JSON.*may or may not have run'),
])
def test_a_reply_that_is_not_lazyplugs_says_whether_the_call_may_have_run(status, error, words, scripted):
    page = b'<html>proxy error</html>'
    server = scripted(lambda n: b'HTTP/1.1 %d X\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s'
                                % (status, len(page), page))
    with pytest.raises(error, match=words):
        UrlModule(url=server.url)('a')


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_result_the_caller_cannot_decode_says_that_the_call_ran(started):
    with config.temp('max_nesting_depth', 300):
        sm = started(ServerModule(nested, launcher='local'))
    assert sm(10) == nested(10)
    with pytest.raises(CodecError, match=r'ran, but its reply cannot be read here: result\[0\].*deeper than 128'):
        sm(200)


# -- at most once ----------------------------------------------------------------------------------

def test_a_call_whose_connection_drops_after_it_was_sent_is_not_sent_again(scripted):
    # the second request is read whole, then the connection closes without a reply: the server
    # may have run it; the client must not run it a second time
    server = scripted(lambda n: reply('first') if n == 1 else None)
    client = UrlModule(url=server.url)
    assert client('a') == 'first'
    with pytest.raises(CallOutcomeUnknownError, match='may or may not have run'):
        client('b')
    assert len(server.requests) == 2


def test_a_first_call_on_a_new_connection_that_gets_no_reply_is_not_sent_again(scripted):
    server = scripted(lambda n: None)
    with pytest.raises(CallOutcomeUnknownError, match=f'{server.url}.*may or may not have run'):
        UrlModule(url=server.url)('a')
    assert len(server.requests) == 1


def test_a_kept_alive_connection_the_server_closed_while_idle_is_replaced_before_anything_is_sent(scripted):
    server = scripted(lambda n: reply(n), close_after=True)  # an idle timeout, without saying so
    client = UrlModule(url=server.url)
    assert client('a') == 1
    time.sleep(0.2)  # the close reaches this end
    assert client('b') == 2
    assert len(server.requests) == 2 and server.connections == 2


def test_an_unreadable_reply_is_not_a_reason_to_send_again(scripted):
    server = scripted(lambda n: b'SSH-2.0-OpenSSH_9.2\r\n\r\n')
    with pytest.raises(CallOutcomeUnknownError, match='not HTTP'):
        UrlModule(url=server.url)('a')
    assert len(server.requests) == 1


def test_a_refused_connection_is_reported_as_a_call_that_did_not_run():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServiceUnavailableError, match='did not run') as info:
        UrlModule(url=f'http://127.0.0.1:{port}')('a')
    assert not isinstance(info.value, CallOutcomeUnknownError)


def record_then_sleep(path, seconds):
    with open(path, 'a') as f:
        f.write(f'{seconds}\n')
    time.sleep(seconds)
    return seconds


def test_a_call_that_times_out_is_not_sent_again(started, tmp_path):
    log = tmp_path / 'runs'
    sm = started(ServerModule(record_then_sleep, launcher='local'))
    with config.temp('call_timeout', 0.3):
        assert sm(str(log), 0) == 0  # a kept-alive connection, as after any earlier call
        began = time.monotonic()
        with pytest.raises(CallTimeoutError, match=r'within 0\.3 s.*may or may not have run'):
            sm(str(log), 1)
        assert time.monotonic() - began < 0.9
    time.sleep(0.7)  # a second run would have started (and written) as the first timed out
    assert log.read_text().split() == ['0', '1']


# -- busy servers: 503 at once ---------------------------------------------------------------------

def test_a_server_running_as_many_calls_as_it_may_answers_503_at_once(started):
    gate, inside, ran = threading.Event(), threading.Semaphore(0), []

    def hold(x):
        ran.append(x)
        inside.release()
        gate.wait(10)
        return x

    with config.temp('max_concurrent_calls', 2):
        sm = started(ServerModule(hold, launcher='thread'))
    holders = [threading.Thread(target=sm, args=(i,)) for i in range(2)]
    try:
        for holder in holders:
            holder.start()
        assert inside.acquire(timeout=10) and inside.acquire(timeout=10)  # both calls are running
        began = time.monotonic()
        with pytest.raises(ServiceBusyError, match='busy, retry later') as info:
            sm('one too many')
        assert time.monotonic() - began < 1.0
        assert 'max_concurrent_calls' in str(info.value) and isinstance(info.value, ServiceUnavailableError)
    finally:
        gate.set()
        for holder in holders:
            holder.join(10)
    assert sm('now') == 'now'
    assert sorted(map(str, ran)) == ['0', '1', 'now']  # the busy call never ran


def test_a_parallel_evaluation_at_full_width_is_not_refused_by_default(started):
    # evaluation runs on the shared pool (thread_pool_workers, 32) and in the calling thread: 33 calls at once
    inside, most = [0], [0]
    lock = threading.Lock()

    def slow(x):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.3)
        with lock:
            inside[0] -= 1
        return x

    sm = started(ServerModule(slow, launcher='thread'))
    sm.evalset(list(range(66)))
    assert sm.eval().eval_result == list(range(66))
    assert most[0] == 33


def sleep_or_pid(started_file, seconds):
    if seconds:
        open(started_file, 'w').close()
        time.sleep(seconds)
    return os.getpid()


def test_a_busy_replica_passes_the_call_to_the_next(started, tmp_path):
    with config.temp('max_concurrent_calls', 1):
        sm = started(ServerModule(sleep_or_pid, launcher='local', num_replicas=2))
    marker = tmp_path / 'sleeping'
    first_pid = []
    holder = threading.Thread(target=lambda: first_pid.append(sm(str(marker), 2)))  # the first replica
    holder.start()
    try:
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        second = sm(str(marker), 0)  # the second replica's turn
        began = time.monotonic()
        assert sm(str(marker), 0) == second  # the first replica's turn: busy, so the second answers
        assert time.monotonic() - began < 1.0
    finally:
        holder.join(10)
    assert first_pid and first_pid[0] != second
