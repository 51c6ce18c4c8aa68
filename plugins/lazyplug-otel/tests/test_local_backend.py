"""The local backend end to end: a program traced with the plugin's own provider keeps its spans
in the state directory (written at the latest when it exits), and ``lazyplug trace`` lists the
traces and draws one as a tree; the OTEL_* variables choose other exporters."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from lazyplug.cli import make_cli

from lazyplug_otel.store import Span, TraceStore

PROGRAM = '''
    import lazyplug

    class Add(lazyplug.ModuleBase):
        def forward(self, x):
            return x + 1

    class Boom(lazyplug.ModuleBase):
        def forward(self, x):
            raise ValueError(f'cannot take {x}')

    print(lazyplug.pipeline(Add(name='a'), lazyplug.parallel(Add(name='b'), Add(name='c')))(1))
    try:
        lazyplug.pipeline(Add(), Boom())(5)
    except ValueError:
        pass
'''


def run(args, home, **env):
    full = {k: v for k, v in os.environ.items() if not k.startswith(('LAZYPLUG_', 'OTEL_'))}
    full.update(env, LAZYPLUG_HOME=str(home))
    return subprocess.run(args, env=full, capture_output=True, text=True, timeout=120)


def program(home, code=PROGRAM, **env):
    result = run([sys.executable, '-c', textwrap.dedent(code)], home, **env)
    assert result.returncode == 0, result.stderr
    return result


def lazyplug_trace(home, *args, code=0):
    result = run(['lazyplug', 'trace', *args], home)
    assert result.returncode == code, result.stderr
    return result


@pytest.fixture(scope='module')
def traced(tmp_path_factory):
    """A home whose store holds the traces of PROGRAM, run once: the failed call's trace first."""
    home = tmp_path_factory.mktemp('home')
    program(home)
    return home


def test_a_program_leaves_its_traces_in_the_state_directory_when_it_exits(traced):
    listed = lazyplug_trace(traced).stdout.splitlines()
    assert listed[0].split() == ['TRACE', 'STARTED', 'DURATION', 'SPANS', 'ERRORS', 'ROOT']
    failed, passed = (line.split() for line in listed[1:])
    assert re.fullmatch('[0-9a-f]{32}', failed[0]) and failed[-1] == 'Pipeline' and failed[-3:-1] == ['3', '2']
    assert passed[-1] == 'Pipeline' and passed[-2] == '5'


def test_trace_id_draws_the_spans_as_a_tree_with_durations(traced):
    summaries = json.loads(lazyplug_trace(traced, '--json').stdout)
    tree = lazyplug_trace(traced, summaries[1]['trace_id'][:8]).stdout.splitlines()
    assert tree[0].startswith(f'trace {summaries[1]["trace_id"]}') and tree[0].endswith('5 spans')
    names = [re.match(r'(.*?\S)  \d', line).group(1) for line in tree[1:]]
    assert names == ['└── Pipeline', '    ├── Add(a)', '    └── Parallel', '        ├── Add(b)', '        └── Add(c)'] \
        or names == ['└── Pipeline', '    ├── Add(a)', '    └── Parallel', '        ├── Add(c)', '        └── Add(b)']
    assert all(re.search(r'  \d+(\.\d)? (µs|ms)  \+\d', line) for line in tree[1:])


def test_a_failed_span_shows_its_error_and_attributes_on_request(traced):
    summaries = json.loads(lazyplug_trace(traced, '--json').stdout)
    tree = lazyplug_trace(traced, '--attributes', summaries[0]['trace_id']).stdout
    assert '2 failed' in tree.splitlines()[0]
    assert re.search(r'── Boom  .*ValueError: cannot take 6\n', tree)
    assert 'input.value = 6' in tree and 'error.type = ValueError' in tree


def test_trace_json_gives_every_span_with_its_parent(traced):
    summaries = json.loads(lazyplug_trace(traced, '--json').stdout)
    assert [s['name'] for s in summaries] == ['Pipeline', 'Pipeline'] and summaries[0]['errors'] == 2
    trace = json.loads(lazyplug_trace(traced, '--json', summaries[1]['trace_id']).stdout)
    spans = {s['name']: s for s in trace['spans']}
    assert spans['Add(b)']['parent_id'] == spans['Parallel']['span_id'] == spans['Add(c)']['parent_id']
    assert spans['Pipeline']['parent_id'] is None and spans['Add(a)']['attributes']['output.value'] == '2'


@pytest.mark.parametrize('given, words', [
    ('xyz1', "'xyz1' is not a trace id: 32 hexadecimal digits, or at least the first 4"),
    ('abc', "'abc' is not a trace id"),
    ('0' * 33, 'is not a trace id'),
    ('0123', "no stored trace has an id starting with '0123'"),
])
def test_a_bad_or_unknown_trace_id_is_a_usage_error_saying_what_is_valid(traced, given, words):
    result = lazyplug_trace(traced, given, code=2)
    assert words in result.stderr


def _span(trace_id, start, name='root'):
    return Span(trace_id, '1' * 16, None, name, 'INTERNAL', start, start + 1000, 'UNSET', '', {}, [], 'lazyplug', 1)


def test_a_prefix_two_traces_share_is_refused_naming_both(tmp_path):
    store = TraceStore(str(tmp_path / 'traces.sqlite3'))
    store.add([_span('abcd' + '1' * 28, 1), _span('abcd' + '2' * 28, 2)])
    store.close()
    result = CliRunner().invoke(make_cli(), ['trace', '--store', store.path, 'abcd'])
    assert result.exit_code == 2
    assert 'several traces have ids starting with' in result.output and 'abcd' + '1' * 28 in result.output


def test_with_no_traces_yet_it_says_so(tmp_path):
    result = CliRunner().invoke(make_cli(), ['trace', '--store', str(tmp_path / 'none.sqlite3')])
    assert result.exit_code == 0 and 'no traces in' in result.output


def test_the_store_keeps_the_newest_traces_it_is_told_to(tmp_path):
    store = TraceStore(str(tmp_path / 'traces.sqlite3'))
    for n in range(5):
        store.add([_span(f'{n:032x}', n * 10)], keep=3)
    assert [s.trace_id for s in store.recent()] == [f'{n:032x}' for n in (4, 3, 2)]
    assert store.spans(f'{0:032x}') == []


def test_a_store_of_another_format_is_an_error_saying_what_to_do(tmp_path):
    path = tmp_path / 'traces.sqlite3'
    with sqlite3.connect(path) as db:
        db.execute('PRAGMA user_version = 99')
    with pytest.raises(Exception, match=r'holds traces in format 99.*move the file away'):
        TraceStore(str(path)).recent()


def test_a_file_that_is_no_trace_store_is_an_error_saying_what_to_do(tmp_path):
    path = tmp_path / 'traces.sqlite3'
    path.write_text('not a database, but a file the user keeps here')
    result = CliRunner().invoke(make_cli(), ['trace', '--store', str(path)])
    assert result.exit_code == 1 and 'is not a trace store' in result.output and 'move it away' in result.output


def _add_one_span_when_all_are_ready(path, trace_id, barrier):
    barrier.wait()
    TraceStore(path).add([_span(trace_id, 1)])


def test_processes_that_make_the_store_at_once_all_keep_their_spans(tmp_path):
    import multiprocessing
    context = multiprocessing.get_context('fork')
    for attempt in range(10):  # without waiting, SQLite refused one of three processes ("locked") 1 time in 10
        path = str(tmp_path / f'traces-{attempt}.sqlite3')
        barrier = context.Barrier(3)
        processes = [context.Process(target=_add_one_span_when_all_are_ready,
                                     args=(path, f'{attempt}{n}'.rjust(32, '0'), barrier)) for n in range(3)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [p.exitcode for p in processes] == [0, 0, 0]
        assert len(TraceStore(path).recent()) == 3


def test_the_store_and_the_directory_it_makes_are_private_to_their_user(traced, tmp_path):
    assert (traced / 'traces.sqlite3').stat().st_mode & 0o777 == 0o600
    store = TraceStore(str(tmp_path / 'made' / 'traces.sqlite3'))
    store.add([_span('1' * 32, 1)])
    store.close()
    assert (tmp_path / 'made').stat().st_mode & 0o077 == 0
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / 'made').iterdir()} == {0o600}  # with the WAL's files


def test_a_program_that_flushes_keeps_its_spans_even_when_it_ends_without_exiting_cleanly(tmp_path):
    program(tmp_path, textwrap.dedent(PROGRAM) + 'import os, lazyplug_otel\nlazyplug_otel.flush()\nos._exit(0)\n')
    assert len(json.loads(lazyplug_trace(tmp_path, '--json').stdout)) == 2


WAITING = PROGRAM + '''
    import signal, sys, time
    if sys.argv[1] == 'own-handler':
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(7))
    print('traced', flush=True)
    time.sleep(60)
'''


def terminated(home, handler):
    """Run PROGRAM, then wait: ended by SIGTERM once it has traced its calls; its status."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('LAZYPLUG_', 'OTEL_'))}
    env.update(LAZYPLUG_HOME=str(home), OTEL_BSP_SCHEDULE_DELAY='60000')  # no export but at the end
    waiting = subprocess.Popen([sys.executable, '-c', textwrap.dedent(WAITING), handler], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert waiting.stdout.readline() == '(3, 3)\n' and waiting.stdout.readline() == 'traced\n'
        waiting.send_signal(signal.SIGTERM)
        return waiting.wait(60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
        waiting.stdout.close()


def test_a_program_ended_by_sigterm_keeps_its_spans_and_still_ends_by_the_signal(tmp_path):
    assert terminated(tmp_path, 'default') == -signal.SIGTERM
    assert len(json.loads(lazyplug_trace(tmp_path, '--json').stdout)) == 2


def test_a_sigterm_handler_the_program_set_is_left_to_it(tmp_path):
    assert terminated(tmp_path, 'own-handler') == 7  # its handler ran: sys.exit, whose exit flushes
    assert len(json.loads(lazyplug_trace(tmp_path, '--json').stdout)) == 2


def test_otel_traces_exporter_none_stores_nothing(tmp_path):
    program(tmp_path, OTEL_TRACES_EXPORTER='none')
    assert json.loads(lazyplug_trace(tmp_path, '--json').stdout) == []


def test_otel_service_name_names_the_service_of_the_stored_spans(tmp_path):
    program(tmp_path, OTEL_SERVICE_NAME='digits-app')
    trace_id = json.loads(lazyplug_trace(tmp_path, '--json').stdout)[0]['trace_id']
    spans = json.loads(lazyplug_trace(tmp_path, '--json', trace_id).stdout)['spans']
    assert {span['service'] for span in spans} == {'digits-app'}


def test_otel_traces_sampler_always_off_stores_nothing(tmp_path):
    program(tmp_path, OTEL_TRACES_SAMPLER='always_off')
    assert json.loads(lazyplug_trace(tmp_path, '--json').stdout) == []


@pytest.mark.parametrize('env, words', [
    ({'OTEL_TRACES_EXPORTER': 'bogus'},
     "names the exporter 'bogus', which is not installed; installed: lazyplug, otlp"),
    ({'OTEL_TRACES_EXPORTER': 'otlp', 'OTEL_EXPORTER_OTLP_PROTOCOL': 'http/json'},
     "the OTLP protocol 'http/json' (OTEL_EXPORTER_OTLP_PROTOCOL) is not supported: use 'http/protobuf' or 'grpc'"),
])
def test_an_exporter_that_cannot_be_made_fails_the_first_call_saying_why(tmp_path, env, words):
    result = run([sys.executable, '-c', 'import lazyplug; lazyplug.pipeline(abs)(-1)'], tmp_path, **env)
    assert result.returncode == 1 and words in result.stderr
