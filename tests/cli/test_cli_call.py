"""``lazyplug call --timeout``: a call of a service that does not answer ends after the timeout
(60 s unless told), saying that the call may or may not have run."""

import contextlib
import json
import textwrap
import time

import pytest
from cli_helpers import lazyplug_child

SLOW = '''
    import time
    import lazyplug

    def slow(seconds):
        time.sleep(seconds)
        return 'done'

    app = lazyplug.ServerModule(slow)
'''


@contextlib.contextmanager
def serving(source, app_dir, home, run):
    """``update FILE:app --serve`` of ``source`` while the block runs; yields the registry's entries."""
    (app_dir / 'served.py').write_text(textwrap.dedent(source))
    with lazyplug_child('update', 'served.py:app', '--serve', cwd=app_dir, home=home) as proc:
        for line in proc.stdout:
            if line.startswith('serving '):
                break
        yield json.loads(run('ps', '--json').stdout)


@pytest.fixture
def slow_service(app_dir, home, run):
    """The id of a served function that sleeps for as many seconds as it is given."""
    with serving(SLOW, app_dir, home, run) as [entry]:
        yield entry['module_id']


def test_a_call_that_gets_no_answer_within_the_timeout_fails_saying_it_may_have_run(run, slow_service):
    started = time.monotonic()
    result = run('call', slow_service, '10', '--timeout', '0.5')
    assert time.monotonic() - started < 9  # it did not wait for the answer (a bound, not a measurement)
    assert result.returncode == 1
    assert 'no answer within 0.5 s (--timeout)' in result.stderr
    assert 'the call may or may not have run' in result.stderr


def test_the_timeout_can_come_from_the_environment(run, slow_service):
    result = run('call', slow_service, '10', LAZYPLUG_CALL_TIMEOUT='0.5')
    assert result.returncode == 1 and 'no answer within 0.5 s' in result.stderr


def test_a_call_that_answers_within_the_timeout_succeeds(run, slow_service):
    result = run('call', slow_service, '0.1', '--timeout', '30')
    assert (result.returncode, result.stdout) == (0, '"done"\n'), result.stderr


def test_the_default_timeout_is_a_minute(run):
    assert '[default: 60.0; x>0]' in run('call', '--help').stdout.split('--timeout SECONDS')[1].split('--')[0]


@pytest.mark.parametrize('value', ['0', '-1', 'soon', 'inf', 'nan'])
def test_a_bad_timeout_is_a_usage_error(run, value):
    result = run('call', 'http://127.0.0.1:9', '1', '--timeout', value)
    assert result.returncode == 2 and '--timeout' in result.stderr


GATED = '''
    import pathlib
    import time
    import lazyplug

    def gated(path):
        yield 'first'
        deadline = time.monotonic() + 10
        while not pathlib.Path(path).exists():  # made by the caller once it has printed 'first'
            if time.monotonic() > deadline:
                raise TimeoutError('the caller never saw the first delta')
            time.sleep(0.01)
        yield {'second': 2}

    def failing(x):
        yield 'partial'
        raise KeyError('gone wrong')

    app = lazyplug.ActionModule(lazyplug.ServerModule(gated), lazyplug.ServerModule(failing))
'''


@pytest.fixture
def gated_services(app_dir, home, run):
    """The ids of the gated and the failing served generators."""
    with serving(GATED, app_dir, home, run) as entries:
        ids = {e['name'].split()[0]: e['module_id'] for e in entries}
        yield ids['gated'], ids['failing']


def test_call_stream_prints_each_delta_as_a_json_line_as_it_arrives(app_dir, home, gated_services, tmp_path):
    gate = tmp_path / 'gate'
    with lazyplug_child('call', gated_services[0], json.dumps(str(gate)), '--stream', cwd=app_dir, home=home) as proc:
        assert proc.stdout.readline() == '"first"\n'  # printed while the generator waits for the gate
        gate.touch()
        assert proc.stdout.read() == '{"second": 2}\n'
        assert proc.wait(30) == 0


def test_call_stream_prints_the_deltas_before_the_error_that_ends_them(run, gated_services):
    result = run('call', gated_services[1], '1', '--stream')
    assert result.returncode == 1
    assert result.stdout == '"partial"\n'
    assert "KeyError: 'gone wrong'" in result.stderr
