"""The ``lazyplug`` command, run as users run it: in a subprocess (click's runner only for the plugin
commands, which need a plugin registered in this process)."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from lazyplug import hookimpl, plugins
from lazyplug.errors import PluginWarning

pytestmark = pytest.mark.usefixtures('nothing_left_running')

needs_demo = pytest.mark.skipif(importlib.util.find_spec('lazyplug_demo_broken') is None,
                                reason='tox installs the test distributions')

APP = '''
import lazyplug

class Upper(lazyplug.ModuleBase):
    def forward(self, text):
        return text.upper()

def double(x):
    return x * 2

def accuracy(outputs):
    return {'accuracy': sum(o == e for o, e in zip(outputs, ['A', 'B', 'X'])) / 3}

upper = Upper(name='up')
upper.evalset(['a', 'b', 'c'], collect_f=accuracy)
app = lazyplug.ActionModule(lazyplug.ServerModule(upper), lazyplug.pipeline(double, lambda x: x + '!'))
flow = lazyplug.pipeline(double, double)
plain = Upper()
long_results = Upper()
long_results.evalset([str(i) for i in range(100)])

class Failing(lazyplug.ModuleBase):
    def _get_deploy_tasks(self):
        return self.explode

    def explode(self):
        raise ValueError('the deploy went wrong')

failing = lazyplug.ActionModule(Failing(name='bad'))

def make():
    return lazyplug.ActionModule(Upper(name='made'))

if __name__ == '__main__':
    raise SystemExit('the main block must not run')
'''


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / 'app.py').write_text(APP)
    return tmp_path


@pytest.fixture
def home(tmp_path):
    return tmp_path / 'home'


def cli_env(home, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    env.update(LAZYPLUG_HOME=str(home), **extra)
    return env


def lazyplug_cmd(*args, cwd, home, input=None, timeout=120, **env):
    """Run ``python -m lazyplug ARGS`` in ``cwd``; return the completed process."""
    return subprocess.run([sys.executable, '-m', 'lazyplug', *args], cwd=cwd, env=cli_env(home, **env),
                          capture_output=True, text=True, input=input, timeout=timeout)


@pytest.fixture
def run(app_dir, home):
    def run(*args, **kw):
        return lazyplug_cmd(*args, cwd=app_dir, home=home, **kw)
    return run


def assert_gone(pids):
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
        assert time.monotonic() < deadline, f'server processes {pids} still run'
        time.sleep(0.05)


# -- the command itself ---------------------------------------------------------------------------

def test_the_console_script_and_python_m_lazyplug_both_run_the_command(run, app_dir, home):
    script = os.path.join(os.path.dirname(sys.executable), 'lazyplug')
    result = subprocess.run([script, '--help'], env=cli_env(home), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ('plugins', 'modules', 'tree', 'update', 'eval', 'call', 'ps', 'stop'):
        assert command in result.stdout
    assert 'Exit codes' in result.stdout
    assert run('--help').stdout == result.stdout


def test_importing_lazyplug_imports_neither_click_nor_rich():
    code = 'import sys, lazyplug; print(sorted({"click", "rich", "lazyplug.cli"} & set(sys.modules)))'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == '[]', out.stderr


# -- plugins --------------------------------------------------------------------------------------

@needs_demo
def test_plugins_lists_a_broken_plugin_as_failed_and_the_rest_as_loaded(run):
    result = run('plugins')
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert 'failed' in lines['demo_broken'] and 'broken on purpose' in lines['demo_broken']
    assert 'lazyplug-demo-broken 1.0.0' in lines['demo_broken']
    assert 'loaded' in lines['demo_phases'] and 'run_task' in lines['demo_phases']
    assert 'built-in' in lines['lazyplug.builtin.lifecycle']
    assert 'not selected' in lines['lazyplug.builtin.progress']


@needs_demo
def test_plugins_json_gives_every_plugin_with_its_hooks_and_error(run):
    result = run('plugins', '--json')
    assert result.returncode == 0, result.stderr
    infos = {p['name']: p for p in json.loads(result.stdout)}
    assert infos['demo_broken']['status'] == 'failed'
    assert infos['demo_broken']['distribution'] == 'lazyplug-demo-broken'
    assert 'RuntimeError' in infos['demo_broken']['error']
    assert infos['lazyplug.builtin.lifecycle']['builtin'] is True
    assert 'lazyplug_run_phase' in infos['lazyplug.builtin.lifecycle']['hooks']
    assert infos['demo_phases']['builtin'] is False and infos['demo_phases']['version'] == '1.0.0'


def test_a_plugin_adds_a_subcommand_through_lazyplug_register_commands():
    import click
    from click.testing import CliRunner

    from lazyplug.cli import make_cli

    class Hello:
        @hookimpl
        def lazyplug_register_commands(self, cli):
            @cli.command('hello')
            @click.argument('who')
            def hello(who):
                """Say hello."""
                click.echo(f'hello {who}')

    plugins.register(Hello(), name='hello-plugin')
    cli = make_cli()
    assert 'hello' in cli.commands
    result = CliRunner().invoke(cli, ['hello', 'world'])
    assert (result.exit_code, result.output) == (0, 'hello world\n')


def test_a_plugin_failing_to_add_commands_is_warned_about_and_the_others_still_add_theirs():
    import click

    from lazyplug.cli import make_cli

    class Broken:
        @hookimpl
        def lazyplug_register_commands(self, cli):
            raise RuntimeError('no commands today')

    class Good:
        @hookimpl
        def lazyplug_register_commands(self, cli):
            cli.add_command(click.Command('good', callback=lambda: None))

    class Greedy:
        @hookimpl
        def lazyplug_register_commands(self, cli):
            cli.add_command(click.Command('update', callback=lambda: None))

    plugins.register(Good(), name='good')
    plugins.register(Broken(), name='broken-commands')
    plugins.register(Greedy(), name='greedy')
    with pytest.warns(PluginWarning) as caught:
        cli = make_cli()
    messages = [str(w.message) for w in caught]
    assert any("'broken-commands' failed to add its commands" in m and 'no commands today' in m for m in messages)
    assert any("'greedy' tried to replace the lazyplug command 'update'" in m for m in messages)
    assert 'good' in cli.commands
    from lazyplug.cli.run import update_command
    assert cli.commands['update'] is update_command


# -- modules --------------------------------------------------------------------------------------

@needs_demo
def test_modules_lists_a_group_with_where_each_module_comes_from(run):
    result = run('modules', 'demo')
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith('demo\n')
    assert 'entry point demo = lazyplug_demo_modules.group from lazyplug-demo-modules 1.0.0 (loaded)' in out
    assert 'shoutDemo' in out and 'lazyplug_demo_modules.group.shout (distribution lazyplug-demo-modules' in out
    assert '  demo.text\n' in out and 'stripText' in out


def test_modules_lists_user_code_when_asked_to_import_it(run, app_dir):
    (app_dir / 'mine.py').write_text(textwrap.dedent('''
        import lazyplug

        @lazyplug.module_register('mygroup')
        def greet(name):
            return 'hi ' + name
    '''))
    result = run('modules', 'mygroup', '--import', 'mine.py', '--json')
    assert result.returncode == 0, result.stderr
    [group] = json.loads(result.stdout)
    [module] = group['modules']
    assert (group['group'], module['name'], module['distribution']) == ('mygroup', 'greetMygroup', None)
    assert module['file'] == str(app_dir / 'mine.py')


@needs_demo
def test_modules_shows_a_failed_entry_point_of_a_group(run):
    result = run('modules', 'brokengroup', '--json')
    assert result.returncode == 0, result.stderr
    [group] = json.loads(result.stdout)
    assert group['modules'] == [] and group['subgroups'] == []
    [entry] = group['entry_points']
    assert entry['status'] == 'failed' and 'broken on purpose' in entry['error']


@needs_demo
def test_an_unknown_group_is_a_usage_error_suggesting_the_nearest(run):
    result = run('modules', 'dmeo')
    assert result.returncode == 2
    assert 'did you mean lazyplug.demo?' in result.stderr
    result = run('modules', 'demo.txet')
    assert result.returncode == 2
    assert 'did you mean demo.text?' in result.stderr


# -- tree -----------------------------------------------------------------------------------------

def test_tree_text_is_the_modules_repr(run, app_dir):
    result = run('tree', 'app.py:app')
    assert result.returncode == 0, result.stderr
    namespace = {'__name__': 'app_copy'}
    exec(compile(APP, str(app_dir / 'app.py'), 'exec'), namespace)
    assert result.stdout == repr(namespace['app']).rstrip('\n') + '\n'
    assert 'the main block must not run' not in result.stderr


def test_tree_json_is_the_nested_tree(run):
    result = run('tree', 'app.py:app', '--format', 'json')
    assert result.returncode == 0, result.stderr
    tree = json.loads(result.stdout)
    assert (tree['type'], tree['kind']) == ('ActionModule', 'module')
    [pipeline] = tree['children']
    assert (pipeline['type'], pipeline['kind']) == ('Pipeline', 'flow')
    server, inner = pipeline['children']
    assert server['type'] == 'ServerModule'
    assert [(c['name'], c['type']) for c in server['children']] == [('up', 'Upper')]
    assert [(c['name'], c['kind']) for c in inner['children']] == [('double', 'function'), ('<lambda>', 'function')]


def test_tree_mermaid_is_a_top_down_graph_with_an_edge_per_child(run):
    result = run('tree', 'app.py:make', '--format', 'mermaid')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        'graph TD',
        '    n0["module ActionModule"]',
        '    n1{{"flow Pipeline"}}',
        '    n0 --> n1',
        '    n2["module Upper made"]',
        '    n1 --> n2',
    ]


def test_tree_of_a_package_module_target(run, app_dir):
    (app_dir / 'pkg').mkdir()
    (app_dir / 'pkg' / '__init__.py').write_text('')
    (app_dir / 'pkg' / 'flows.py').write_text('import lazyplug\nf = lazyplug.pipeline(str.upper)\n')
    result = run('tree', 'pkg.flows:f')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('<Flow type=Pipeline')


@pytest.mark.parametrize(('target', 'says'), [
    ('missing.py:app', 'there is no file {dir}/missing.py'),
    ('app.py:ap', "app.py has no name 'ap'; did you mean 'app'? (it defines: Upper, double, accuracy, upper, app, "
                  'flow, plain, long_results, Failing, failing, make)'),
    ('app.py', "TARGET 'app.py' names no object"),
    ('app.py:double', "app.py:double needs arguments (missing a required argument: 'x')"),
    ('app.py:lazyplug', 'app.py:lazyplug is a module object, not a module, a flow, or a function returning one'),
    ('no_such_package.mod:app', "no module named 'no_such_package' can be imported"),
])
def test_a_bad_target_is_a_usage_error_saying_what_was_looked_for_and_what_exists(run, app_dir, target, says):
    result = run('tree', target)
    assert result.returncode == 2
    assert says.format(dir=app_dir) in result.stderr.replace('\n', ' ')
    assert 'Traceback' not in result.stderr


def test_code_failing_to_import_is_a_failure_naming_the_file_and_line(run, app_dir):
    (app_dir / 'bad.py').write_text('import lazyplug\n\nx = 1 / 0\n')
    result = run('tree', 'bad.py:x')
    assert result.returncode == 1
    assert f'running bad.py failed: ZeroDivisionError: division by zero (at {app_dir}/bad.py, line 3)' \
        in result.stderr
    assert 'Traceback' not in result.stderr


# -- update ---------------------------------------------------------------------------------------

def test_update_prints_the_tree_the_eval_results_and_the_urls_then_stops_what_it_deployed(run):
    result = run('update', 'app.py:app', '--no-progress')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith('<Module type=Action')
    assert "eval <Module type=Upper name=up>: {'accuracy': 0.6666666666666666}" in lines
    [deployed] = [line for line in lines if line.startswith('deployed ')]
    assert deployed.startswith('deployed Upper up served by ServerModule at http://127.0.0.1:')
    # the command ended, and with it the server: its port refuses connections
    url = deployed.split(' at ')[1].split()[0]
    from lazyplug.serve.client import health
    assert not health(url)


def test_update_abbreviates_long_eval_results(run):
    result = run('update', 'app.py:long_results')
    assert result.returncode == 0, result.stderr
    assert "eval <Module type=Upper>: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ...]" in result.stdout


def test_a_failed_update_exits_1_naming_module_and_phase_without_a_traceback(run):
    result = run('update', 'app.py:failing')
    assert result.returncode == 1
    assert 'Error: update of app.py:failing failed: server task #0' in result.stderr
    assert 'Failing name=bad' in result.stderr and 'ValueError: the deploy went wrong' in result.stderr
    assert 'Traceback' not in result.stderr
    assert 'Traceback' in run('--traceback', 'update', 'app.py:failing').stderr
    assert 'Traceback' in run('update', 'app.py:failing', LAZYPLUG_DEBUG='1').stderr


def test_update_modes_and_bad_options(run):
    result = run('update', 'app.py:app', '--mode', 'train')
    assert result.returncode == 0, result.stderr
    assert 'deployed' not in result.stdout and 'eval' not in result.stdout
    bad = run('update', 'app.py:app', '--mode', 'train,deploy')
    assert bad.returncode == 2 and "unknown mode 'deploy'" in bad.stderr
    assert run('update', 'app.py:app', '--workers', '0').returncode == 2


def test_update_with_the_thread_launcher_and_a_memory_registry(run):
    result = run('update', 'app.py:app', '--launcher', 'thread', '--registry', 'memory://', '--mode', 'server')
    assert result.returncode == 0, result.stderr
    assert 'deployed Upper up served by ServerModule at http://127.0.0.1:' in result.stdout


def test_an_unknown_launcher_fails_the_update_naming_it(run):
    result = run('update', 'app.py:app', '--launcher', 'nowhere', '--mode', 'server')
    assert result.returncode == 1
    assert "no installed plugin provides the launcher 'nowhere'" in result.stderr


def test_an_unknown_registry_scheme_is_a_usage_error(run):
    result = run('ps', '--registry', 'nosuch://x')
    assert result.returncode == 2
    assert "no service registry for 'nosuch://x'" in result.stderr
    assert run('update', 'app.py:app', '--registry', 'nosuch://x').returncode == 2


def test_update_with_progress_writes_a_line_per_phase_and_task(run):
    result = run('update', 'app.py:app', '--progress')
    assert result.returncode == 0, result.stderr
    err = result.stderr.splitlines()
    assert 'lazyplug: server: 1 task' in err
    assert any(line.startswith('lazyplug: server: 1 task done in ') for line in err)
    assert any(line.startswith('lazyplug: eval: done ') and line.endswith('(3/3 items)') for line in err)
    assert not any('progress' in line for line in run('update', 'app.py:app').stderr.splitlines())


# -- serving, ps, stop, call ----------------------------------------------------------------------

def start_serving(app_dir, home, *extra):
    proc = subprocess.Popen([sys.executable, '-m', 'lazyplug', 'update', 'app.py:app', '--serve', *extra],
                            cwd=app_dir, env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith('serving '):
            return proc, lines
    proc.wait(30)
    raise AssertionError(f'update --serve did not serve: {"".join(lines)}{proc.stderr.read()}')


@pytest.fixture
def serving(app_dir, home):
    procs = []

    def serve(*extra):
        proc, lines = start_serving(app_dir, home, *extra)
        procs.append(proc)
        return proc, lines

    yield serve
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()


def test_ps_lists_what_update_serve_runs_in_another_process_and_stop_ends_it(run, serving):
    proc, _ = serving()
    listed = run('ps', '--json')
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry['owner_pid'] == proc.pid and entry['name'] == 'Upper up served by ServerModule'
    table = run('ps').stdout.splitlines()
    assert table[0].split() == ['ID', 'NAME', 'URLS', 'PIDS', 'OWNER', 'UP']
    assert table[1].startswith(entry['module_id'][:12])

    called = run('call', entry['module_id'][:8], '"hello"')
    assert (called.returncode, called.stdout) == (0, '"HELLO"\n'), called.stderr
    assert run('call', entry['urls'][0], '"x"').stdout == '"X"\n'

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


# -- eval -----------------------------------------------------------------------------------------

def test_eval_reads_json_lines_and_writes_the_outputs_in_order(run, app_dir):
    (app_dir / 'inputs.jsonl').write_text('"a"\n\n"b"\n{"text": "c"}\n')
    result = run('eval', 'app.py:plain', '--evalset', 'inputs.jsonl', '--out', 'outputs.jsonl', '--progress')
    assert result.returncode == 0, result.stderr
    assert (app_dir / 'outputs.jsonl').read_text() == '"A"\n"B"\n"C"\n'
    assert any(line.endswith('(3/3 items)') for line in result.stderr.splitlines())
    piped = run('eval', 'app.py:app', '--evalset', '-', input='"x"\n"y"\n')
    assert (piped.returncode, piped.stdout) == (0, '"XX!"\n"YY!"\n'), piped.stderr


def test_eval_refuses_a_line_that_is_not_json_and_reports_a_failing_item(run, app_dir):
    (app_dir / 'bad.jsonl').write_text('"a"\nnot json\n')
    result = run('eval', 'app.py:plain', '--evalset', 'bad.jsonl')
    assert result.returncode == 2 and 'line 2 of bad.jsonl is not JSON' in result.stderr
    (app_dir / 'numbers.jsonl').write_text('"a"\n3\n')
    failed = run('eval', 'app.py:plain', '--evalset', 'numbers.jsonl')
    assert failed.returncode == 1
    assert "AttributeError: 'int' object has no attribute 'upper'" in failed.stderr
