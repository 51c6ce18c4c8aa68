"""``lazyplug`` itself, ``plugins``, ``modules``, ``tree`` and TARGET errors, run as users run them (in a
subprocess; click's runner only for plugin commands, which need a plugin registered in this process)."""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import pytest
from cli_helpers import APP, cli_env, needs_demo, skip_without_demo

import lazyplug
from lazyplug import hookimpl, plugins
from lazyplug.errors import PluginWarning

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

def blocks(text):
    """The output of ``lazyplug plugins``: heading -> its rows, each ``[kind, text]``."""
    found = {}
    for block in text.strip().split('\n\n'):
        heading, *rows = block.splitlines()
        found[heading] = [row.strip().split('  ', 1) for row in rows]
        found[heading] = [[kind, text.strip()] for kind, text in found[heading]]
    return found


@needs_demo
def test_plugins_says_what_each_distribution_adds_and_why_a_part_failed(run):
    result = run('plugins')
    assert result.returncode == 0, result.stderr
    found = blocks(result.stdout)
    heading, own = next(iter(found.items()))
    assert heading == 'lazyplug 0.1.0, built in'
    assert found['lazyplug-demo-broken 1.0.0'] == [
        ['hook plugin', 'demo_broken: failed (RuntimeError: demo plugin is broken on purpose)'],
        ['entry point', 'brokengroup: failed (RuntimeError: demo module group is broken on purpose)']]
    assert found['lazyplug-demo-phases 1.0.0'] == [['hook plugin', 'demo_phases: collect_tasks, run_phase, run_task, '
                                                                   'update']]
    assert found['lazyplug-demo-modules 1.0.0'] == [['module group', 'demo: shout, Trainer, Doubler, reverse'],
                                                    ['module group', 'demo.text: strip']]
    assert dict(own[-4:]) == {'launchers': 'local, thread', 'registries': 'memory://, sqlite://',
                              'cache': 'memory, sqlite, file',
                              'commands': 'plugins, modules, tree, update, eval, call, ps, stop, logs'}
    assert ['hook plugin', 'lazyplug.builtin.lifecycle: run_phase, run_task, update'] in own
    assert any(text.startswith('lazyplug.builtin.progress: not selected') for _, text in own)


@needs_demo
def test_plugins_json_names_each_distribution_and_what_it_adds(run):
    result = run('plugins', '--json')
    assert result.returncode == 0, result.stderr
    found = {c['distribution']: c for c in json.loads(result.stdout)}
    own = found['lazyplug']
    assert own['builtin'] is True and own['version'] == lazyplug.__version__
    assert (own['launchers'], own['registry_schemes'], own['cache_strategies']) == (
        ['local', 'thread'], ['memory', 'sqlite'], ['memory', 'sqlite', 'file'])
    assert 'update' in own['commands']
    broken = found['lazyplug-demo-broken']
    assert [(p['name'], p['status']) for p in broken['hook_plugins']] == [('demo_broken', 'failed')]
    assert 'RuntimeError' in broken['hook_plugins'][0]['error']
    assert [(e['name'], e['status']) for e in broken['module_entry_points']] == [('brokengroup', 'failed')]
    modules = found['lazyplug-demo-modules']
    assert modules['module_groups'] == [
        {'group': 'demo', 'modules': ['shout', 'Trainer', 'Doubler', 'reverse']},
        {'group': 'demo.text', 'modules': ['strip']}]
    assert {e['name'] for e in modules['module_entry_points']} == {'demo', 'demo.reverse', 'demo.Doubler'}
    assert found['lazyplug-demo-phases']['hook_plugins'][0]['hooks'] == [
        'lazyplug_collect_tasks', 'lazyplug_run_phase', 'lazyplug_run_task', 'lazyplug_update']


def test_plugins_lists_what_run_time_plugins_add():
    import click
    from click.testing import CliRunner

    from lazyplug.cli import make_cli

    class Extra:
        @hookimpl
        def lazyplug_register_launchers(self, register):
            register('extra', lambda **options: None)

        @hookimpl
        def lazyplug_register_commands(self, cli):
            cli.add_command(click.Command('extra', callback=lambda: None))

    plugins.register(Extra(), name='extra')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', PluginWarning)  # the broken demo distribution's, when installed
        result = CliRunner().invoke(make_cli(), ['plugins', '--json'])
    assert result.exit_code == 0, result.output
    mine = next(c for c in json.loads(result.output) if c['distribution'] is None)
    assert (mine['launchers'], mine['commands']) == (['extra'], ['extra'])
    assert [(p['name'], p['status']) for p in mine['hook_plugins']] == [('extra', 'loaded')]
    own = next(c for c in json.loads(result.output) if c['builtin'])
    assert 'extra' not in own['commands']


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
            cli.add_command(click.Command('half', callback=lambda: None))
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
    assert "plugin 'greedy' tried to replace the command 'update' of lazyplug; that one is kept" in messages
    assert 'good' in cli.commands and 'half' not in cli.commands  # a plugin that fails adds nothing
    from lazyplug.cli.run import update_command
    assert cli.commands['update'] is update_command
    registered_here = {name: added for name, added in cli.plugin_commands.items()
                       if name in ('good', 'broken-commands', 'greedy')}  # installed plugins may add theirs
    assert registered_here == {'good': ['good']}


def test_a_command_name_an_earlier_plugin_took_is_refused_naming_both():
    import click
    from click.testing import CliRunner

    from lazyplug.cli import make_cli

    def adding(name):
        class Adds:
            @hookimpl
            def lazyplug_register_commands(self, cli):
                cli.add_command(click.Command('hello', callback=lambda: click.echo(name)))
        return Adds()

    plugins.register(adding('first'), name='first')
    plugins.register(adding('second'), name='second')
    with pytest.warns(PluginWarning, match="plugin 'second' tried to replace the command 'hello' of plugin 'first'"):
        cli = make_cli()
    assert CliRunner().invoke(cli, ['hello']).output == 'first\n'
    assert {name: added for name, added in cli.plugin_commands.items()
            if name in ('first', 'second')} == {'first': ['hello']}  # (installed plugins may add theirs)


# -- modules --------------------------------------------------------------------------------------

@needs_demo
def test_modules_lists_a_group_with_where_each_module_comes_from(run):
    result = run('modules', 'demo')
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith('demo\n')
    assert 'entry point demo = lazyplug_demo_modules.group from lazyplug-demo-modules 1.0.0 (loaded)' in out
    assert '  shout ' in out and 'lazyplug_demo_modules.group.shout (distribution lazyplug-demo-modules' in out
    assert '  demo.text\n' in out and '  strip ' in out


def test_modules_lists_user_code_when_asked_to_import_it(run, app_dir):
    (app_dir / 'mine.py').write_text(textwrap.dedent('''
        import lazyplug

        lazyplug.module_register.new_group('mygroup')

        @lazyplug.module_register('mygroup')
        def greet(name):
            return 'hi ' + name
    '''))
    result = run('modules', 'mygroup', '--import', 'mine.py', '--json')
    assert result.returncode == 0, result.stderr
    [group] = json.loads(result.stdout)
    [module] = group['modules']
    assert (group['group'], module['name'], module['distribution']) == ('mygroup', 'greet', None)
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


def test_tree_json_names_attribute_submodules_and_named_flow_items(run, app_dir):
    (app_dir / 'named.py').write_text(textwrap.dedent('''
        import lazyplug
        from app import Upper

        class Holder(lazyplug.ModuleBase):
            def __init__(self):
                super().__init__()
                self.first = Upper()
                self.second = Upper(name='given')
                self.shared = self.first

        with lazyplug.pipeline() as p:
            p.holder = Holder()
            p.shout = str.upper
    '''))
    result = run('tree', 'named.py:p', '--format', 'json')
    assert result.returncode == 0, result.stderr
    tree = json.loads(result.stdout)
    holder, shout = tree['children']
    assert (holder['name'], holder['type'], shout['name']) == ('holder', 'Holder', 'shout')
    assert [(c['name'], c['type'], c.get('shared')) for c in holder['children']] == [
        ('first', 'Upper', None), ('given', 'Upper', None), ('shared', 'Upper', True)]


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


def test_tree_mermaid_names_a_function_once_as_a_function(run):
    result = run('tree', 'app.py:flow', '--format', 'mermaid')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        '    n0{{"flow Pipeline"}}',
        '    n1(["function double"])',
        '    n0 --> n1',
        '    n2(["function double"])',
        '    n0 --> n2',
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


PROGRAM = '''
import pathlib
import lazyplug

app = lazyplug.ActionModule(lazyplug.pipeline(str.upper))

def main():
    pathlib.Path('main-ran').write_text('it ran')
    return app

def report() -> None:
    pathlib.Path('report-ran').write_text('it ran')

def make_app():
    return app
'''


def test_a_function_that_is_a_program_is_refused_not_run_nor_suggested(run, app_dir):
    # `lazyplug tree file.py:main` must not do main's work (train, deploy, ...): tree only looks
    (app_dir / 'program.py').write_text(PROGRAM)
    for name, why in (('main', 'main is the entry point of a program'),
                      ('report', 'report() is annotated to return None')):
        result = run('tree', f'program.py:{name}')
        assert result.returncode == 2, result.stdout + result.stderr
        assert f'program.py:{name} is not run: {why}' in result.stderr.replace('\n', ' ')
        assert not (app_dir / f'{name}-ran').exists()
    near = run('tree', 'program.py:mai')
    assert near.returncode == 2 and "did you mean" not in near.stderr.replace("'make_app'", '')
    assert '(it defines: app, make_app)' in near.stderr.replace('\n', ' ')
    assert run('tree', 'program.py:make_app').stdout.startswith('<Module type=Action')


def test_code_failing_to_import_is_a_failure_naming_the_file_and_line(run, app_dir):
    (app_dir / 'bad.py').write_text('import lazyplug\n\nx = 1 / 0\n')
    result = run('tree', 'bad.py:x')
    assert result.returncode == 1
    assert f'running bad.py failed: ZeroDivisionError: division by zero (at {app_dir}/bad.py, line 3)' \
        in result.stderr
    assert 'Traceback' not in result.stderr


@needs_demo
def test_with_strict_plugins_a_broken_plugin_is_an_error_not_a_traceback(run):
    result = run('plugins', LAZYPLUG_STRICT_PLUGINS='1')
    assert result.returncode == 1
    assert "Error: lazyplug plugin 'demo_broken'" in result.stderr and 'broken on purpose' in result.stderr
    assert 'Traceback' not in result.stderr


def test_ctrl_c_in_any_command_exits_130_not_with_the_code_of_a_failure():
    from click.testing import CliRunner

    from lazyplug.cli import make_cli

    class Slow:
        @hookimpl
        def lazyplug_register_commands(self, cli):
            @cli.command('slow')
            def slow():
                raise KeyboardInterrupt

    plugins.register(Slow(), name='slow-plugin')
    result = CliRunner().invoke(make_cli(), ['slow'])
    assert result.exit_code == 130
    assert 'interrupted' in result.output and 'Aborted' not in result.output


def test_the_tests_needing_the_demo_distributions_fail_under_ci_when_they_are_missing():
    assert skip_without_demo(installed=False, environ={}) is True
    assert skip_without_demo(installed=False, environ={'CI': 'true'}) is False
    assert skip_without_demo(installed=True, environ={}) is False


def test_plugins_lists_what_a_plugin_registered_on_the_manager_itself_adds():
    from lazyplug.inventory import contributions

    class Behind:
        @hookimpl
        def lazyplug_register_launchers(self, register):
            register('behind', lambda **options: None)

    plugins.get_plugin_manager().register(Behind(), name='behind')  # not through lazyplug.plugins.register
    plugins.sync_optional_builtins()  # the host hears of the change
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', PluginWarning)  # the broken demo distribution's, when installed
        unnamed = [c for c in contributions() if c.distribution is None]
    assert [c.launchers for c in unnamed] == [['behind']]


@pytest.mark.parametrize(('command', 'plugin'), [('web', 'lazyplug-web'), ('trace', 'lazyplug-otel')])
def test_a_command_of_a_plugin_that_is_not_installed_says_what_to_install(run, command, plugin):
    result = run(command, 'app.py:app', LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD='1')
    assert result.returncode == 2 and not result.stdout
    assert f"the command '{command}' comes from the {plugin} plugin" in result.stderr
    assert f'pip install {plugin}' in result.stderr
    assert "No such command 'nope'" in run('nope').stderr  # any other unknown command is click's usage error
