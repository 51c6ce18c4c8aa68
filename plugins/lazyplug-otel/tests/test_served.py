"""Calls of served modules: a client span in the caller, and in the server a server span that
continues the caller's trace (W3C traceparent), around the served module's own spans; in a
thread of this process and in a server process of its own."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import lazyplug
import pytest
from lazyplug.errors import RemoteError
from opentelemetry.trace import SpanKind, StatusCode

from lazyplug_otel.store import TraceStore


class Counted(lazyplug.ModuleBase):
    def forward(self, x):
        if x == 'fail':
            raise ValueError('fail was asked for')
        return x

    def shout(self, text):
        return text.upper()


@pytest.fixture
def served():
    """A ServerModule of Counted; stopped after the test."""
    made = []

    def serve(launcher):
        server = lazyplug.ServerModule(Counted(), launcher=launcher)
        server.name = 'counted'
        made.append(server)
        return server.start()

    yield serve
    for server in made:
        server.stop()


def _hex(number, digits):
    return format(number, f'0{digits}x')


def test_a_served_call_nests_client_server_and_served_spans_in_the_callers_trace(spans, served):
    server = served('thread')
    assert server('x') == 'x'
    call = spans.one('ServerModule(counted)')
    assert spans.tree(call) == ('ServerModule(counted)', [('POST /call', [('serve Counted', [('Counted', [])])])])
    client, server_span = spans.one('POST /call'), spans.one('serve Counted')
    assert (client.kind, server_span.kind) == (SpanKind.CLIENT, SpanKind.SERVER)
    assert dict(client.attributes) == {'http.request.method': 'POST', 'url.path': '/call',
                                       'lazyplug.service': 'Counted served by ServerModule'}
    assert {spans.one(name).context.trace_id for name in ('POST /call', 'serve Counted', 'Counted')} == {
        call.context.trace_id}
    assert spans.one('Counted').attributes['input.value'] == 'x'


def test_a_method_call_is_named_for_its_method_on_both_ends(spans, served):
    server = served('thread')
    assert server._call('shout', 'hi') == 'HI'
    client, server_span = spans.one('POST /method'), spans.one('serve Counted.shout')
    assert client.attributes['lazyplug.method'] == server_span.attributes['lazyplug.method'] == 'shout'
    assert server_span.parent.span_id == client.context.span_id


def test_a_failing_served_call_fails_every_span_from_the_served_module_to_the_caller(spans, served):
    server = served('thread')
    with pytest.raises(RemoteError, match='fail was asked for'):
        server('fail')
    for name, error in [('Counted', 'ValueError'), ('serve Counted', 'ValueError'), ('POST /call', 'RemoteError'),
                        ('ServerModule(counted)', 'RemoteError')]:
        span = spans.one(name)
        assert span.status.status_code == StatusCode.ERROR, name
        assert span.status.description.startswith(f'{error}: '), span.status.description
    assert 'fail was asked for' in spans.one('serve Counted').status.description


def _post(url, headers):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request('POST', '/call', json.dumps({'args': ['raw']}), {'Content-Type': 'application/json', **headers})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize('headers', [{}, {'traceparent': 'not-a-trace-context'},
                                     {'traceparent': '00-' + '0' * 32 + '-' + '1' * 16 + '-01'}],
                         ids=['none', 'malformed', 'invalid-zero-trace-id'])
def test_a_call_without_a_valid_trace_context_starts_a_trace_of_its_own_in_the_server(spans, served, headers):
    server = served('thread')
    status, document = _post(server._urls[0], headers)
    assert (status, document['result']) == (200, 'raw')
    span = spans.one('serve Counted')
    assert span.parent is None
    assert spans.children(span) == spans.named('Counted')


def test_a_server_in_its_own_process_continues_the_callers_trace(spans, served, lazyplug_home):
    server = served('local')
    assert server('x') == 'x'
    server.stop()  # the server exits, exporting what it traced to the local backend
    client = spans.one('POST /call')
    trace_id = _hex(client.context.trace_id, 32)
    stored = TraceStore(str(lazyplug_home / 'traces.sqlite3')).spans(trace_id)
    assert [(span.name, span.kind) for span in stored] == [('serve Counted', 'SERVER'), ('Counted', 'INTERNAL')]
    serve_span, module_span = stored
    assert serve_span.parent_id == _hex(client.context.span_id, 16)
    assert module_span.parent_id == serve_span.span_id
    assert serve_span.pid not in (None, client.resource.attributes.get('process.pid'))
    assert serve_span.service == 'lazyplug'


def square(x):
    return x * x


def test_a_served_function_names_its_server_span(spans):
    server = lazyplug.ServerModule(square, launcher='thread')
    try:
        assert server.start()(3) == 9
    finally:
        server.stop()
    assert spans.tree(spans.one('POST /call')) == ('POST /call', [('serve square', [])])
