"""End to end with a real OTLP receiver and trace store, Arize Phoenix, started by the test: the
digits application (examples/digits.py) is updated, called, and made to fail through its
ServerModule, in a process of its own whose spans go to Phoenix over OTLP (the standard
OTEL_EXPORTER_OTLP_ENDPOINT); the test reads the traces back from Phoenix's REST API and checks
their span trees, the served module's spans (from the server's process) included."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[2] / 'examples' / 'digits.py'
SERVED = ('ServerModule(classifier)', [('POST /call', [('serve Classifier', [('Classifier', [])])])])
CALL = ('ActionModule', [('Pipeline', [('Pipeline', [('Flatten(preprocess)', []), SERVED,
                                                      ('ClassName(postprocess)', [])])])])


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope='module')
def phoenix(tmp_path_factory):
    """A Phoenix server on free ports of loopback, with its own working directory; its HTTP URL."""
    if importlib.util.find_spec('phoenix') is None:  # looked for, not imported: Phoenix is a large package
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail('Phoenix (arize-phoenix) is not installed; under CI it must be (the otel tox env installs it)')
        pytest.skip('Phoenix (arize-phoenix) is not installed; the otel tox env installs it')
    port, grpc_port = _free_port(), _free_port()
    env = {**os.environ, 'PHOENIX_HOST': '127.0.0.1', 'PHOENIX_PORT': str(port), 'PHOENIX_GRPC_PORT': str(grpc_port),
           'PHOENIX_WORKING_DIR': str(tmp_path_factory.mktemp('phoenix')), 'PHOENIX_TELEMETRY_ENABLED': 'false'}
    log = tmp_path_factory.mktemp('phoenix-log') / 'phoenix.log'
    with open(log, 'wb') as out:
        server = subprocess.Popen([sys.executable, '-m', 'phoenix.server.main', 'serve'], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f'{url}/healthz', timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f'Phoenix did not start: {log.read_text()[-3000:]}') from None
                time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def phoenix_spans(url):
    """Every span of Phoenix's default project, read page by page."""
    spans, cursor = [], None
    while True:
        page = _get(f'{url}/v1/projects/default/spans?limit=1000' + (f'&cursor={cursor}' if cursor else ''))
        spans.extend(page['data'])
        cursor = page.get('next_cursor')
        if not cursor:
            return spans


def tree(span, spans):
    """``(name, [subtrees])`` of ``span``: its children in the same trace, in start order."""
    kids = sorted((s for s in spans if s['parent_id'] == span['context']['span_id']
                   and s['context']['trace_id'] == span['context']['trace_id']), key=lambda s: s['start_time'])
    return span['name'], [tree(kid, spans) for kid in kids]


@pytest.fixture(scope='module')
def traced(phoenix, tmp_path_factory):
    """The digits application run once against Phoenix: what it printed, and the spans Phoenix holds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('LAZYPLUG_', 'OTEL_'))}
    env.update(LAZYPLUG_HOME=str(tmp_path_factory.mktemp('home')), OTEL_EXPORTER_OTLP_ENDPOINT=phoenix)
    result = subprocess.run([sys.executable, str(HERE / 'digits_traced.py'), str(EXAMPLE)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    deadline = time.monotonic() + 60  # Phoenix stores what it receives in the background
    while True:
        spans = phoenix_spans(phoenix)
        names = [s['name'] for s in spans]
        if (names.count('serve Classifier') == 8 and 'update ActionModule' in names) or time.monotonic() > deadline:
            return printed, spans
        time.sleep(0.5)


def only(spans, name):
    found = [s for s in spans if s['name'] == name]
    assert len(found) == 1, f'{len(found)} spans named {name!r}'
    return found[0]


def test_the_application_ran_as_it_does_untraced(traced):
    printed, _ = traced
    assert printed[0]['accuracy'] == 1.0 and printed[0]['answer'] in '0123456789'
    assert printed[1] == {'error': 'InvalidArgumentError'}


def test_the_update_is_one_trace_of_phases_tasks_and_the_evaluations_calls(traced):
    _, spans = traced
    _, phases = tree(only(spans, 'update ActionModule'), spans)
    assert [phase for phase, _ in phases] == ['train', 'deploy', 'eval', 'post']
    assert phases[0] == ('train', [('train Classifier', [])])
    assert phases[1] == ('deploy', [('deploy ServerModule(Classifier)', [])])
    (task, calls), = phases[2][1]
    assert task == 'eval ActionModule' and calls == [CALL] * 6  # each held-out digit, siblings
    assert phases[3] == ('post', [])


def test_a_call_of_the_application_is_a_trace_through_the_server_and_back(traced):
    _, spans = traced
    roots = [s for s in spans if s['parent_id'] is None and s['name'] == 'ActionModule']
    assert len(roots) == 1 and tree(roots[0], spans) == CALL


def test_the_served_modules_spans_continue_the_callers_trace_inside_its_client_span(traced):
    _, spans = traced
    for served in (s for s in spans if s['name'] == 'serve Classifier'):
        client = next(s for s in spans if s['context']['span_id'] == served['parent_id'])
        assert client['name'] == 'POST /call'
        assert client['context']['trace_id'] == served['context']['trace_id']
        assert client['start_time'] <= served['start_time'] and served['end_time'] <= client['end_time']


def test_a_failing_served_call_is_an_error_span_at_every_level_with_the_type_and_message(traced):
    _, spans = traced
    failed = [s for s in spans if s['name'] == 'ServerModule(classifier)' and s['parent_id'] is None]
    assert len(failed) == 1 and tree(failed[0], spans) == SERVED
    by_name = {}
    trace_id = failed[0]['context']['trace_id']
    for span in spans:
        if span['context']['trace_id'] == trace_id:
            by_name[span['name']] = span
    for name, kind in [('Classifier', 'InvalidArgumentError'), ('serve Classifier', 'InvalidArgumentError'),
                       ('POST /call', 'RemoteError'), ('ServerModule(classifier)', 'RemoteError')]:
        span = by_name[name]
        assert span['status_code'] == 'ERROR' and span['status_message'].startswith(f'{kind}: '), span
        event, = span['events']
        assert event['name'] == 'exception' and event['attributes']['exception.type'] == f'lazyplug.errors.{kind}'
    assert 'flat list of 64 finite numbers' in by_name['Classifier']['status_message']
