"""``update --serve``, ``ps``, ``stop`` and ``call`` across processes, over the SQLite service registry."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from cli_helpers import assert_gone, cli_env, lazyplug_child


def test_ps_lists_what_update_serve_runs_in_another_process_and_stop_ends_it(run, serving):
    proc, _ = serving()
    listed = run('ps', '--json')
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry['owner_pid'] == proc.pid and entry['name'] == 'Upper up served by ServerModule'
    table = run('ps').stdout.splitlines()
    assert table[0].split() == ['ID', 'NAME', 'URLS', 'PIDS', 'OWNER', 'UP', 'LOG']
    assert table[1].startswith(entry['module_id'][:12])

    called = run('call', entry['module_id'][:8], '"hello"')
    assert (called.returncode, called.stdout) == (0, '"HELLO"\n'), called.stderr
    assert run('call', entry['urls'][0], '"x"').stdout == '"X"\n'
    assert run('call', entry['module_id'], '{"text": "kw"}', '--kwargs').stdout == '"KW"\n'
    assert run('call', entry['module_id'], '-', input='"piped"').stdout == '"PIPED"\n'
    remote_error = run('call', entry['module_id'], '3')
    assert remote_error.returncode == 1 and "'int' object has no attribute 'upper'" in remote_error.stderr

    stopped = run('stop', entry['module_id'][:8])
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == f'stopped Upper up served by ServerModule ({entry["module_id"][:12]})\n'
    assert proc.wait(30) == 0
    assert 'every service has stopped; exiting' in proc.stdout.read()
    assert_gone(entry['pids'])
    assert json.loads(run('ps', '--json').stdout) == []


def test_sigterm_ends_update_serve_cleanly(run, serving):
    proc, _ = serving()
    [entry] = json.loads(run('ps', '--json').stdout)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert 'SIGTERM received' in proc.stderr.read()
    assert_gone(entry['pids'])
    assert run('ps').stdout.startswith('no services are running')


def test_stop_all_stops_every_service(run, serving):
    first, _ = serving()
    second, _ = serving('--launcher', 'thread')
    assert len(json.loads(run('ps', '--json').stdout)) == 2
    result = run('stop', '--all')
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    assert first.wait(30) == 0 and second.wait(30) == 0


def test_update_serve_fails_when_what_it_serves_dies(run, serving):
    proc, _ = serving()
    [entry] = json.loads(run('ps', '--json').stdout)
    for pid in entry['pids']:
        os.killpg(pid, signal.SIGKILL)
    assert proc.wait(30) == 1
    err = proc.stderr.read()
    assert f'processes {entry["pids"]} ended on their own' in err
    assert 'Error: served services ended on their own: Upper up served by ServerModule' in err


def test_stop_ends_the_servers_of_a_program_that_does_not_watch_the_registry(run, app_dir, home):
    (app_dir / 'owner.py').write_text(textwrap.dedent('''
        import sys, time
        from app import upper
        import lazyplug
        sm = lazyplug.ServerModule(upper)
        sm.start()
        print('started', flush=True)
        sys.stdin.read()  # runs until the test closes its input
    '''))
    owner = subprocess.Popen([sys.executable, 'owner.py'], cwd=app_dir, env=cli_env(home), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline() == 'started\n'
        [entry] = json.loads(run('ps', '--json').stdout)
        result = run('stop', entry['module_id'], '--timeout', '1')
        assert result.returncode == 0, result.stderr
        assert_gone(entry['pids'])
        assert owner.poll() is None  # the program that deployed it is left alone
        assert run('ps').stdout.startswith('no services are running')
    finally:
        owner.stdin.close()
        owner.wait(30)
        owner.stdout.close()


def test_an_unknown_registry_scheme_is_a_usage_error(run):
    result = run('ps', '--registry', 'nosuch://x')
    assert result.returncode == 2
    assert "no service registry for 'nosuch://x'" in result.stderr
    assert run('update', 'app.py:app', '--registry', 'nosuch://x').returncode == 2


def test_ps_stop_and_call_create_no_registry_file(run, app_dir, home):
    missing = app_dir / 'nonexist' / 'dir' / 'x.db'
    for args in (('ps',), ('ps', '--json'), ('stop', 'abc'), ('stop', '--all'), ('call', 'abc', '1')):
        result = run(*args, '--registry', f'sqlite:///{missing}')
        assert result.returncode == 2, (args, result.stdout + result.stderr)
        assert f'the registry file {missing} does not exist' in result.stderr
        from_env = run(*args, LAZYPLUG_REGISTRY=f'sqlite:///{missing}')
        assert from_env.returncode == 2 and 'does not exist' in from_env.stderr
    assert not (app_dir / 'nonexist').exists()
    # the default file, before anything was deployed: nothing runs, and the file is not made either
    assert run('ps').stdout.startswith('no services are running')
    assert run('stop', '--all').returncode == 0
    assert run('stop', 'abc').returncode == 2 and run('call', 'abc', '1').returncode == 2
    assert not home.exists() or not list(home.rglob('*.sqlite'))


def test_stop_and_call_refuse_unknown_ids_and_bad_input(run):
    assert run('stop').returncode == 2
    assert run('stop', 'abc', '--all').returncode == 2
    unknown = run('stop', 'abc')
    assert unknown.returncode == 2 and "no service with id 'abc'" in unknown.stderr
    assert run('call', 'abc', '1').returncode == 2
    bad_json = run('call', 'http://127.0.0.1:1', 'hello')
    assert bad_json.returncode == 2 and 'a string needs quotes' in bad_json.stderr
    down = run('call', 'http://127.0.0.1:1', '"hello"')
    assert down.returncode == 1 and 'Error:' in down.stderr and 'Traceback' not in down.stderr


def test_an_empty_or_blank_id_names_no_service(run, serving):
    # every id starts with '': `lazyplug stop "$ID"` with ID unset must not stop the only service
    proc, _ = serving()
    for ident in ('', '  '):
        for args in (('stop', ident), ('call', ident, '"x"')):
            refused = run(*args)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert 'the service id is empty' in refused.stderr
    [entry] = json.loads(run('ps', '--json').stdout)
    assert entry['owner_pid'] == proc.pid and proc.poll() is None
    assert run('call', entry['module_id'], '"still up"').stdout == '"STILL UP"\n'


def test_update_serve_keeps_its_signal_handling_when_a_deploy_task_installs_its_own(run, app_dir, home):
    # as a cluster client may do when it connects (ray.init installs a SIGTERM handler that exits)
    (app_dir / 'grabby.py').write_text(textwrap.dedent('''
        import signal, sys
        import lazyplug
        from app import upper

        class Grabby(lazyplug.ModuleBase):
            def _get_deploy_tasks(self):
                return lambda: signal.signal(signal.SIGTERM, lambda *a: sys.exit(15))

        app = lazyplug.ActionModule(Grabby(), lazyplug.ServerModule(upper))
    '''))
    with lazyplug_child('update', 'grabby.py:app', '--serve', cwd=app_dir, home=home) as proc:
        for line in proc.stdout:
            if line.startswith('serving '):
                break
        [entry] = json.loads(run('ps', '--json').stdout)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert_gone(entry['pids'])


def test_a_service_is_here_when_its_node_is_this_processs():
    from lazyplug.services import ServiceEntry
    from lazyplug.services.liveness import node_id, runs_here

    def entry(node, url='http://127.0.0.1:8000'):
        return ServiceEntry('m', [url], [1], 0.0, node=node)

    assert runs_here(entry(None))  # made here: this process's node
    assert runs_here(entry(node_id(), 'http://203.0.113.7:8000'))  # published at an address of its machine
    assert not runs_here(entry('another-boot-id/pid:[4026531836]'))  # loopback, but of another machine
    assert not runs_here(entry(''))  # unknown: an entry of an older lazyplug


@pytest.mark.parametrize('node, said', [
    ('another-boot-id/pid:[4026531836]', 'it runs on another machine (http://127.0.0.1:40000)'),
    ('', 'its entry does not say which machine it runs on'),
])
def test_stop_never_signals_local_processes_for_a_service_of_another_or_an_unknown_machine(run, home, node, said):
    # a registry shared by machines: the entry's process ids are those of the other machine, and its
    # loopback URL looks like one of this machine's
    bystander = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])
    try:
        from lazyplug.services import ServiceEntry
        from lazyplug.services.sqlite import SqliteRegistry
        url = f'sqlite://{home}/shared.sqlite'
        registry = SqliteRegistry(url)
        registry.publish(ServiceEntry('elsewhere0001', ['http://127.0.0.1:40000'], [bystander.pid], time.time(),
                                      'remote', bystander.pid, node=node))
        registry.close()
        result = run('stop', 'elsewhere', '--registry', url, '--timeout', '0')
        assert result.returncode == 0, result.stderr
        assert f'removed remote (elsewhere000) from the registry; {said}' in result.stdout
        assert bystander.poll() is None
        assert run('ps', '--registry', url).stdout.startswith('no services are running')
    finally:
        bystander.kill()
        bystander.wait(30)
