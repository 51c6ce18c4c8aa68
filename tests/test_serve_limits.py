"""A server under untrusted input: stalled connections, bad bodies and bad results all get bounded,
JSON answers; the limits are settings."""

import json
import math
import socket
import time

import pytest

from lazyplug import ServerModule, config
from lazyplug.errors import CodecError, RemoteError
from lazyplug.module import ModuleBase
from serve_helpers import raw

pytestmark = pytest.mark.usefixtures('nothing_left_running')


class Echo(ModuleBase):
    def forward(self, x):
        return x


def record(path, x):
    with open(path, 'a') as f:
        f.write(f'{x}\n')
    return x


def closed_within(sock, seconds):
    """Seconds until the server closed ``sock`` (None: still open after ``seconds``)."""
    sock.settimeout(seconds)
    began = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - began


def connect(url):
    host, port = url.split('//', 1)[1].rsplit(':', 1)
    return socket.create_connection((host, int(port)), timeout=5)


@pytest.fixture
def guarded(started):
    """A local server of ``record`` whose read timeout is 1 s."""
    with config.temp('read_timeout', 1.0):
        return started(ServerModule(record, launcher='local'))


# -- stalled connections ----------------------------------------------------------------------------

def test_a_connection_that_sends_nothing_is_closed_after_the_read_timeout(guarded):
    with connect(guarded._urls[0]) as sock:
        assert closed_within(sock, 4) is not None


def test_a_request_whose_head_stalls_is_closed_after_the_read_timeout(guarded):
    with connect(guarded._urls[0]) as sock:
        sock.sendall(b'POST /call HTTP/1.1\r\nHost: x\r\nContent-Le')
        assert closed_within(sock, 4) is not None


def test_a_request_whose_body_stalls_is_closed_and_never_runs(guarded, tmp_path):
    log = tmp_path / 'runs'
    body = json.dumps({'args': [str(log), 'stalled'], 'kwargs': {}}).encode()
    with connect(guarded._urls[0]) as sock:
        sock.sendall(b'POST /call HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body[:-3]))
        assert closed_within(sock, 4) is not None
    assert guarded(str(log), 'served') == 'served'  # the server serves on
    assert log.read_text().split() == ['served']


def test_a_request_sent_slowly_must_still_arrive_within_the_read_timeout(guarded):
    with connect(guarded._urls[0]) as sock:
        began = time.monotonic()
        try:
            for byte in b'POST /call HTTP/1.1\r\nHost: x\r\nX-Drip: ' + b'a' * 100:
                sock.sendall(bytes([byte]))
                time.sleep(0.1)  # progress, but too slow
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed_within(sock, 4) is not None
        assert time.monotonic() - began < 4


def test_many_stalled_connections_are_all_closed_and_calls_go_on(guarded, tmp_path):
    stalled = [connect(guarded._urls[0]) for _ in range(100)]
    try:
        for sock in stalled[::2]:
            sock.sendall(b'POST /call HTTP/1.1\r\n')
        assert guarded(str(tmp_path / 'runs'), 'meanwhile') == 'meanwhile'
        time.sleep(1.5)
        assert all(closed_within(sock, 3) is not None for sock in stalled)
    finally:
        for sock in stalled:
            sock.close()


# -- every error reply is JSON ----------------------------------------------------------------------

DEEP = 100_000


@pytest.mark.parametrize('body, status, words', [
    (b'{"__lp__": [1]}', 400, 'the body has an unknown value tag [1]'),
    (b'{"args": [{"__lp__": [1]}]}', 400, 'args[0] has an unknown value tag [1]'),
    (b'{"args": [{"__lp__": {"a": 1}}]}', 400, "args[0] has an unknown value tag {'a': 1}"),
    (b'{"args": [1, {"__lp__": "tuple", "items": 5}]}', 400, "args[1] is a malformed 'tuple' value"),
    (b'{"args": [{"x": {"__lp__": "set", "items": [[1]]}}]}', 400, "args[0]['x'] is a malformed 'set' value"),
    (b'{"args": [{"__lp__": "bytes", "b64": "!"}]}', 400, "args[0] is a malformed 'bytes' value"),
    (b'[' * DEEP + b']' * DEEP, 400, 'nested too deeply'),
    (b'{"args": [' + b'[' * DEEP + b']' * DEEP + b']}', 400, 'nested too deeply'),
    (b'{"args": [' + b'{"a": ' * 300 + b'1' + b'}' * 300 + b']}', 400, 'nested deeper than 128 levels'),
    (b'\xff\xfe not UTF-8', 400, 'malformed JSON'),
])
def test_a_bad_body_of_any_shape_gets_a_json_4xx_naming_the_path(body, status, words, started):
    sm = started(ServerModule(Echo(), launcher='thread'))
    code, reply = raw(sm._urls[0], 'POST', '/call', body)
    assert code == status and words in reply['error']['message'], reply
    assert sm('still serving') == 'still serving'


def test_a_request_that_is_not_http_gets_a_json_400(started):
    sm = started(ServerModule(Echo(), launcher='thread'))
    with connect(sm._urls[0]) as sock:
        sock.sendall(b'NOT HTTP AT ALL\r\n\r\n')
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 400') and b'application/json' in head
    assert json.loads(body)['error']['type'] == 'BadRequest'


def lone_surrogate(_):
    return 'bad \ud800 text'


def deep_result(_):
    value = []
    for _ in range(1000):
        value = [value]
    return {'deep': value}


def an_object(_):
    return object()


def raises_surrogate(_):
    raise ValueError('bad \udfff message')


@pytest.mark.parametrize('served, words', [
    (lone_surrogate, 'result is a string with a lone surrogate'),
    (deep_result, "result['deep'][0][0]"),
    (an_object, 'result is a builtins.object'),
])
def test_a_result_that_cannot_travel_is_a_json_500_naming_its_path(served, words, started):
    sm = started(ServerModule(served, launcher='local'))
    code, reply = raw(sm._urls[0], 'POST', '/call', b'{"args": [1]}')
    assert code == 500 and reply['error']['type'] == 'CodecError' and words in reply['error']['message']
    with pytest.raises(RemoteError, match='CodecError'):
        sm(1)


def test_an_exception_whose_message_utf8_cannot_encode_is_still_a_json_500(started):
    sm = started(ServerModule(raises_surrogate, launcher='thread'))
    code, reply = raw(sm._urls[0], 'POST', '/call', b'{"args": [1]}')
    assert code == 500 and reply['error'] == {'type': 'ValueError', 'message': 'bad \\udfff message',
                                              'module': 'raises_surrogate served by ServerModule'}


def test_the_nesting_limit_is_a_setting_of_the_server(started):
    with config.temp('max_nesting_depth', 6):
        sm = started(ServerModule(Echo(), launcher='local'))
    # {"args": [x]}: the request and its argument list are levels 1 and 2, x is level 3
    assert raw(sm._urls[0], 'POST', '/call', b'{"args": [[[[[1]]]]]}') == (200, {'result': [[[[1]]]], 'globals': {}})
    code, reply = raw(sm._urls[0], 'POST', '/call', b'{"args": [[[[[[1]]]]]]}')
    assert code == 400 and 'args[0][0][0][0][0] is nested deeper than 6 levels' in reply['error']['message']


def test_a_value_nested_deeper_than_the_limit_fails_at_the_caller_naming_its_path(started):
    sm = started(ServerModule(Echo(), launcher='thread'))
    value = []
    for _ in range(DEEP):
        value = [value]
    with pytest.raises(CodecError, match=r'args\[0\]\[0\]\[0\]\.\.\.\(120 more\).*nested deeper than 128 levels'):
        sm(value)


def test_a_string_with_a_lone_surrogate_fails_at_the_caller_naming_its_path(started):
    sm = started(ServerModule(Echo(), launcher='thread'))
    with pytest.raises(CodecError, match=r"kwargs\['x'\]\[1\] is a string with a lone surrogate"):
        sm(x=['fine', 'bad \ud800'])


# -- NaN and Infinity -------------------------------------------------------------------------------

def strict(text):
    """JSON as every strict parser reads it: no NaN or Infinity tokens."""
    def refuse(token):
        raise ValueError(f'{token} is not JSON')
    return json.loads(text, parse_constant=refuse)


def test_nan_and_infinity_travel_as_strict_json_and_come_back_as_floats(started):
    sm = started(ServerModule(Echo(), launcher='thread'))
    back = sm([math.nan, math.inf, -math.inf, 1.5])
    assert math.isnan(back[0]) and back[1:] == [math.inf, -math.inf, 1.5]
    from lazyplug.serve.client import _post
    status, body = _post(sm._urls[0], '/call', b'{"args": [{"__lp__": "float", "value": "-inf"}]}',
                         b'Content-Type: application/json\r\n')
    assert status == 200 and strict(body)['result'] == {'__lp__': 'float', 'value': '-inf'}
