"""The SQLite registry file removed, replaced, or read-only while services run: a serving process
notices (the file's identity changed) and publishes what it serves again; ``ps`` reads a registry
it cannot write."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from cli_helpers import cli_env, end_child

from lazyplug.services import ServiceEntry
from lazyplug.services.sqlite import SqliteRegistry
from state_helpers import as_owner_without_override, read_only

OWNER = '''
    import sys
    from app import Upper
    import lazyplug

    first = lazyplug.ServerModule(Upper(name='first'), id='first-service')
    first.start()
    print('started first', flush=True)
    for line in sys.stdin:  # each line: deploy one more
        more = lazyplug.ServerModule(Upper(name=line.strip()), id=line.strip())
        more.start()
        print('started', line.strip(), flush=True)
'''


@pytest.fixture
def owner(app_dir, home):
    """A program that deploys 'first-service', then one more service per line of its input."""
    (app_dir / 'owner.py').write_text(textwrap.dedent(OWNER))
    proc = subprocess.Popen([sys.executable, 'owner.py'], cwd=app_dir, env=cli_env(home), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == 'started first\n', proc.stderr.read()
        yield proc
    finally:
        proc.stdin.close()
        end_child(proc)


def deploy(owner, service_id):
    owner.stdin.write(service_id + '\n')
    owner.stdin.flush()
    assert owner.stdout.readline() == f'started {service_id}\n'


def listed(run, **env):
    result = run('ps', '--json', **env)
    assert result.returncode == 0, result.stderr
    return sorted(entry['module_id'] for entry in json.loads(result.stdout))


def wait_listed(run, expected, timeout=15.0):
    import time
    deadline = time.monotonic() + timeout
    while (found := listed(run)) != expected:
        assert time.monotonic() < deadline, f'ps lists {found}, not {expected}, after {timeout} s'
        time.sleep(0.1)


def test_a_deploy_after_the_registry_file_was_removed_is_listed_with_what_was_served_before(run, owner, home):
    registry = home / 'services.sqlite'
    assert listed(run) == ['first-service']
    registry.unlink()  # as `rm` would: the serving program still has it open
    deploy(owner, 'second-service')
    assert listed(run) == ['first-service', 'second-service']
    assert run('call', 'second', '"x"').stdout == '"X"\n'


def test_a_serving_program_publishes_its_services_again_in_a_new_registry_file_by_itself(run, owner, home):
    for name in os.listdir(home):
        if name.startswith('services.sqlite'):
            os.remove(home / name)
    assert run('ps').stdout.startswith('no services are running')
    wait_listed(run, ['first-service'])


def publish(path, module_id, pid):
    """Publish an entry of process ``pid`` in the registry file ``path`` and close it, as a program
    that deployed it and ended would."""
    registry = SqliteRegistry(f'sqlite:///{path}')
    try:
        registry.publish(ServiceEntry(module_id, ['http://127.0.0.1:9'], [pid], 0.0, owner_pid=pid))
    finally:
        registry.close()


def test_a_replaced_registry_file_gets_the_entries_of_the_serving_program_added(run, owner, home, tmp_path,
                                                                                  sleeper):
    other = tmp_path / 'other' / 'services.sqlite'
    publish(other, 'from-the-other-file', sleeper.pid)
    os.replace(other, home / 'services.sqlite')
    wait_listed(run, ['first-service', 'from-the-other-file'])


def ps_without_write_access(app_dir, home):
    result = subprocess.run([*as_owner_without_override(), sys.executable, '-m', 'lazyplug', 'ps', '--json'],
                            cwd=app_dir, env=cli_env(home), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [e['module_id'] for e in json.loads(result.stdout)]


def test_ps_lists_the_services_of_a_read_only_state_directory(app_dir, home, sleeper):
    publish(home / 'services.sqlite', 'published-earlier', sleeper.pid)
    with read_only(home):
        assert ps_without_write_access(app_dir, home) == ['published-earlier']


def test_ps_lists_the_services_of_a_read_only_state_directory_while_they_are_served(owner, app_dir, home):
    with read_only(home):
        assert ps_without_write_access(app_dir, home) == ['first-service']
