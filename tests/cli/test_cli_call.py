"""``lazyplug call --timeout``: a call of a service that does not answer ends after the timeout
(60 s unless told), saying that the call may or may not have run."""

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


@pytest.fixture
def slow_service(app_dir, home, run):
    """The id of a served function that sleeps for as many seconds as it is given."""
    (app_dir / 'slow.py').write_text(textwrap.dedent(SLOW))
    with lazyplug_child('update', 'slow.py:app', '--serve', cwd=app_dir, home=home) as proc:
        for line in proc.stdout:
            if line.startswith('serving '):
                break
        [entry] = json.loads(run('ps', '--json').stdout)
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
