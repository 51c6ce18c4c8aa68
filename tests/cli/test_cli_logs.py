"""Errors raised in a served module are logged, traceback included, to the service's log file under
the state directory; ``lazyplug ps`` says where it is, ``lazyplug logs ID`` prints its end."""

import json
import os
import re
import stat

import pytest


@pytest.fixture(params=['local', 'thread'])
def served(request, serving, run):
    """The registry entry of app.py's Upper, served by ``update --serve`` with each launcher."""
    serving('--launcher', request.param)
    [entry] = json.loads(run('ps', '--json').stdout)
    return entry


def fail_once(run, entry):
    result = run('call', entry['module_id'], '3')  # Upper.forward calls (3).upper()
    assert result.returncode == 1


def test_an_error_of_the_served_module_is_logged_with_its_traceback(run, served):
    fail_once(run, served)
    logged = run('logs', served['module_id'][:8])
    assert logged.returncode == 0, logged.stderr
    out = logged.stdout
    assert 'ERROR' in out and 'Upper up served by ServerModule raised AttributeError' in out
    assert 'Traceback (most recent call last):' in out
    assert re.search(r'line \d+, in forward\n', out)  # where the module raised it
    assert out.rstrip().endswith("AttributeError: 'int' object has no attribute 'upper'")


def test_ps_says_where_the_log_is(run, served, home):
    assert served['log'] == str(home / 'logs' / f'{served["module_id"]}.log')
    header, row = run('ps').stdout.splitlines()
    assert header.split()[-1] == 'LOG' and row.split()[-1] == served['log']


def test_logs_prints_the_last_lines_asked_for(run, served):
    for _ in range(3):
        fail_once(run, served)
    everything = run('logs', served['module_id'], '-n', '1000').stdout.splitlines()
    assert sum('raised AttributeError' in line for line in everything) == 3
    assert run('logs', served['module_id'], '-n', '2').stdout.splitlines() == everything[-2:]


def test_the_log_is_private_to_the_user(run, served):
    fail_once(run, served)
    assert stat.S_IMODE(os.stat(served['log']).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(served['log'])).st_mode) == 0o700


def test_a_service_that_logged_nothing_says_so(run, served):
    result = run('logs', served['module_id'])
    assert result.returncode == 0 and result.stdout == ''
    assert f'has logged nothing yet (its log file: {served["log"]})' in result.stderr


def test_the_log_of_a_stopped_service_is_still_shown(run, served):
    fail_once(run, served)
    assert run('stop', served['module_id']).returncode == 0
    result = run('logs', served['module_id'][:10])
    assert result.returncode == 0 and 'raised AttributeError' in result.stdout


def test_an_unknown_service_is_a_usage_error(run):
    result = run('logs', 'nosuchservice')
    assert result.returncode == 2 and "no service with id 'nosuchservice'" in result.stderr


def test_the_log_of_a_stopped_service_is_found_by_its_whole_id_or_a_unique_beginning(run, home):
    (home / 'logs').mkdir(parents=True)
    for name in ('svc', 'svc.v2'):
        (home / 'logs' / f'{name}.log').write_text(f'logged by {name}\n')
    assert run('logs', 'svc').stdout == 'logged by svc\n'
    assert run('logs', 'svc.v').stdout == 'logged by svc.v2\n'
    ambiguous = run('logs', 'sv')
    assert ambiguous.returncode == 2 and 'svc.log, svc.v2.log' in ambiguous.stderr
