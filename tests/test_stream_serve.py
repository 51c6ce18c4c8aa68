"""Streaming through real servers: deltas over HTTP as they are produced, LazyLLM's queue idiom, errors, stopping."""

import http.client
import json
import socket
import threading
import time

import pytest

import lazyplug
from lazyplug import FileSystemQueue, ModuleBase, ServerModule, ThreadPoolExecutor, UrlModule, config, pipeline
from lazyplug.errors import CallOutcomeUnknownError, RemoteError, ServiceBusyError
from stream_helpers import endless

pytestmark = pytest.mark.usefixtures('nothing_left_running')


class Letters(ModuleBase):
    def forward(self, text, pause=0.0):
        for letter in text:
            time.sleep(pause)
            yield letter


def wait_for_file(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def dequeue_until_done(futures):
    """LazyLLM's idiom: each non-empty ``dequeue()`` while the calls run, then what is left."""
    batches = []
    queue = FileSystemQueue()
    while True:
        if value := queue.dequeue():
            batches.append(value)
        elif all(f.done() for f in futures):
            if not (value := queue.dequeue()):
                return batches
            batches.append(value)
        else:
            time.sleep(0.001)


# -- deltas over HTTP -------------------------------------------------------------------------------

def test_deltas_cross_processes_as_they_are_produced(started, tmp_path):
    release = tmp_path / 'release'

    def gated(path):
        import pathlib
        import time
        yield 'first'
        gate = pathlib.Path(path)
        deadline = time.monotonic() + 10
        while not gate.exists():  # the caller creates it once it has read 'first'
            if time.monotonic() > deadline:
                raise TimeoutError('the first delta did not reach the caller while this generator ran')
            time.sleep(0.01)
        yield 'second'

    sm = started(ServerModule(gated, launcher='local'))
    stream = sm.stream(str(release))
    assert next(stream) == 'first'
    release.touch()
    assert list(stream) == ['second'] and stream.result == 'firstsecond'


def test_deltas_reach_the_caller_while_the_generator_still_runs(started):
    released = threading.Event()

    def gated(x):
        yield 'first'
        if not released.wait(10):
            raise TimeoutError('the first delta did not reach the caller while this generator ran')
        yield 'second'

    sm = started(ServerModule(gated, launcher='thread'))
    stream = sm.stream(1)
    assert next(stream) == 'first'
    released.set()
    assert next(stream) == 'second'


def test_a_plain_call_of_a_streaming_module_returns_its_deltas_joined(started):
    sm = started(ServerModule(Letters(), launcher='local'))
    assert sm('abc') == 'abc'
    stream = sm.stream('abc')
    assert list(stream) == ['a', 'b', 'c'] and stream.result == 'abc'


def test_a_served_module_that_does_not_stream_yields_its_output_as_one_delta(started):
    sm = started(ServerModule(str.upper, launcher='thread'))
    assert list(sm.stream('abc')) == ['ABC']


def test_pre_runs_before_a_streaming_call(started):
    sm = started(ServerModule(Letters(), pre=str.strip, stream=True, launcher='thread'))
    assert list(sm.stream('  xy ')) == ['x', 'y']


def test_a_pipeline_streams_through_a_server_module(started):
    sm = started(ServerModule(Letters(), launcher='thread'))
    stream = pipeline(str.strip, sm, str.upper).stream(' ok ')
    assert list(stream) == ['o', 'k'] and stream.result == 'OK'


def test_parallel_server_modules_stream_tagged_deltas(started):
    left = started(ServerModule(Letters(), launcher='thread'))
    right = started(ServerModule(Letters(), launcher='thread'))
    stream = lazyplug.parallel(left=left, right=right).stream('ab')
    assert sorted(stream) == [('left', 'a'), ('left', 'b'), ('right', 'a'), ('right', 'b')]
    assert stream.result == ('ab', 'ab')


def test_a_url_module_streams_from_a_running_service(started):
    sm = started(ServerModule(Letters(), launcher='thread'))
    url_module = UrlModule(url=sm._url, stream=True)
    assert list(url_module.stream('hi')) == ['h', 'i']
    assert url_module('hi') == 'hi'


# -- the wire ---------------------------------------------------------------------------------------

def test_the_wire_is_documented_json_lines_sent_as_chunks(started):
    sm = started(ServerModule(Letters(), launcher='thread'))
    conn = http.client.HTTPConnection(sm._urls[0].split('//', 1)[1], timeout=10)
    try:
        body = json.dumps({'args': ['ab'], 'stream': True})
        conn.request('POST', '/call', body, {'Content-Type': 'application/json'})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader('Content-Type') == 'application/x-ndjson'
        assert response.getheader('Transfer-Encoding') == 'chunked'
        lines = [json.loads(line) for line in response.read().splitlines()]
    finally:
        conn.close()
    assert lines == [{'delta': 'a'}, {'delta': 'b'}, {'result': 'ab', 'globals': {}, 'streamed': True}]


@pytest.mark.parametrize('body, words', [
    ({'args': ['x'], 'stream': 'yes'}, '"stream" must be true or false'),
    ({'method': 'forward', 'args': ['x'], 'stream': True}, '/method does not stream'),
])
def test_a_bad_stream_request_is_400_and_runs_nothing(started, body, words):
    sm = started(ServerModule(Letters(), launcher='thread'))
    path = '/method' if 'method' in body else '/call'
    conn = http.client.HTTPConnection(sm._urls[0].split('//', 1)[1], timeout=10)
    try:
        conn.request('POST', path, json.dumps(body), {'Content-Type': 'application/json'})
        response = conn.getresponse()
        status, document = response.status, json.loads(response.read())
    finally:
        conn.close()
    assert status == 400 and words in document['error']['message']


# -- errors and stopping ----------------------------------------------------------------------------

def test_an_error_mid_stream_comes_after_the_deltas_with_its_type_and_message(started):
    def fails_late(x):
        yield 'a'
        yield 'b'
        raise KeyError('ran out')

    sm = started(ServerModule(fails_late, launcher='local'))
    got = []
    with pytest.raises(RemoteError) as info:
        for delta in sm.stream(1):
            got.append(delta)
    assert got == ['a', 'b']
    assert (info.value.remote_type, info.value.remote_message) == ('KeyError', "'ran out'")
    with pytest.raises(RemoteError, match='ran out'):
        sm(1)  # a plain call fails the same way


def test_the_server_keeps_serving_after_a_failed_stream(started):
    def fails_at(x):
        yield 1
        if x:
            raise ValueError('asked to fail')
        yield 2

    sm = started(ServerModule(fails_at, launcher='local'))
    with pytest.raises(RemoteError, match='asked to fail'):
        list(sm.stream(True))
    assert list(sm.stream(False)) == [1, 2]


def test_a_delta_that_cannot_travel_ends_the_stream_with_a_codec_error(started):
    def odd(x):
        yield 'fine'
        yield object()

    sm = started(ServerModule(odd, launcher='thread'))
    stream = sm.stream(1)
    assert next(stream) == 'fine'
    with pytest.raises(RemoteError, match=r'delta 1 is a builtins.object') as info:
        next(stream)
    assert info.value.remote_type == 'CodecError'


def _endless_writing(path):
    import pathlib
    import time
    try:
        while True:
            yield 'tick'
            time.sleep(0.005)
    finally:
        pathlib.Path(path).write_text('stopped')


def test_closing_the_stream_stops_the_generator_in_the_server(started, tmp_path):
    sm = started(ServerModule(_endless_writing, launcher='local'))
    stream = sm.stream(str(tmp_path / 'stopped'))
    assert next(stream) == 'tick'
    stream.close()
    assert wait_for_file(tmp_path / 'stopped')
    with sm.stream(str(tmp_path / 'again')) as again:  # the service goes on serving
        assert next(again) == 'tick'
    assert wait_for_file(tmp_path / 'again')


def test_a_client_that_disconnects_stops_the_generator_in_the_server(started, tmp_path):
    sm = started(ServerModule(_endless_writing, launcher='local'))
    body = json.dumps({'args': [str(tmp_path / 'stopped')], 'stream': True}).encode()
    host, port = sm._urls[0].split('//', 1)[1].split(':')
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b'POST /call HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body))
        received = b''
        while b'"delta":"tick"' not in received:
            received += sock.recv(4096)
    # gone, without a word: the socket is closed
    assert wait_for_file(tmp_path / 'stopped')


def test_a_stream_counts_against_the_concurrency_limit_until_it_ends(started):
    with config.temp('max_concurrent_calls', 1):
        sm = started(ServerModule(Letters(), launcher='thread'))
    stream = sm.stream('abcdefghij', pause=0.05)
    assert next(stream) == 'a'
    with pytest.raises(ServiceBusyError):
        sm('x')
    assert list(stream) == list('bcdefghij')
    assert sm('x') == 'x'


def test_stopping_a_service_ends_its_open_streams(started):
    forever, stopped = endless(0.005)
    sm = started(ServerModule(forever, launcher='thread'))
    stream = sm.stream('x')
    assert next(stream) == 'x'
    began = time.monotonic()
    sm.stop()
    assert time.monotonic() - began < 5  # not the 10 s the launcher waits for a server thread at most
    assert stopped.wait(10)
    with pytest.raises(CallOutcomeUnknownError, match='broke off'):
        for _ in stream:
            pass


# -- LazyLLM's idiom: a session's stream queue ------------------------------------------------------

def test_stream_true_returns_the_joined_output_and_queues_the_deltas_for_the_session(started):
    sm = started(ServerModule(Letters(), stream=True, launcher='local'))
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(sm, 'hello', pause=0.01)
        batches = dequeue_until_done([future])
    assert future.result() == 'hello'
    assert ''.join(''.join(batch) for batch in batches) == 'hello'


def test_deltas_queued_in_a_server_reach_the_callers_queue_across_processes(started):
    inner = ServerModule(Letters(), stream=True, launcher='local')
    outer = started(ServerModule(pipeline(inner, str.upper), launcher='local'))
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(outer, 'nest')
        batches = dequeue_until_done([future])
    assert future.result() == 'NEST'
    assert [delta for batch in batches for delta in batch] == ['n', 'e', 's', 't']


class Pace(ModuleBase):
    """Yields ``<name>1``, then waits for the other call's first delta, then yields ``<name>2``: two
    calls of it at once interleave their deltas."""

    def __init__(self, events):
        super().__init__()
        self.events = events

    def forward(self, name, other):
        yield f'{name}1'
        self.events[name].set()
        if not self.events[other].wait(10):
            raise TimeoutError(f'{other} never started')
        yield f'{name}2'


def test_concurrent_streaming_calls_in_one_session_never_mix_in_its_queue(started):
    events = {'a': threading.Event(), 'b': threading.Event()}
    sm = started(ServerModule(Pace(events), stream=True, launcher='thread'))
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(sm, 'a', 'b'), pool.submit(sm, 'b', 'a')]
        batches = dequeue_until_done(futures)
    assert [f.result() for f in futures] == ['a1a2', 'b1b2']
    for batch in batches:  # each dequeue returns deltas of one call
        assert len({delta[0] for delta in batch}) == 1
    assert ''.join(''.join(batch) for batch in batches) in ('a1a2b1b2', 'b1b2a1a2')


def test_a_sessions_queue_never_sees_the_deltas_of_another_session(started):
    sm = started(ServerModule(Letters(), stream=True, launcher='thread'))
    got = {}

    def session(word):
        # a plain thread starts a session of its own
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(sm, word, pause=0.005)
            got[word] = ''.join(''.join(batch) for batch in dequeue_until_done([future]))

    threads = [threading.Thread(target=session, args=(word,)) for word in ('left', 'right')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert got == {'left': 'left', 'right': 'right'}


def test_streams_open_at_once_in_one_thread_never_mix(started):
    sm = started(ServerModule(Letters(), launcher='local'))
    lower, upper = sm.stream('abcdefghij'), sm.stream('ABCDEFGHIJ')
    pairs = []
    for pair in zip(lower, upper, strict=True):  # read in turns: each stream has a connection of its own
        pairs.append(pair)
        if len(pairs) == 3:
            assert sm('xyz') == 'xyz'  # and a plain call meanwhile gets its own answer
    assert pairs == list(zip('abcdefghij', 'ABCDEFGHIJ', strict=True))
    assert (lower.result, upper.result) == ('abcdefghij', 'ABCDEFGHIJ')


def test_a_stream_read_to_its_end_leaves_its_connection_for_the_next_call(started):
    from lazyplug.serve import client
    sm = started(ServerModule(Letters(), launcher='thread'))
    assert list(sm.stream('ab')) == ['a', 'b']
    kept = client._connections.pool[sm._urls[0]]
    assert list(sm.stream('cd')) == ['c', 'd'] and sm('e') == 'e'
    assert client._connections.pool[sm._urls[0]] is kept  # the same connection served all three
