"""Hook plugins: entry-point loading, isolation of failures, selection, validation, the lifecycle
hooks as plugins use them. The lazyplug-demo-* distributions are installed in the test
environment (tox), as users install plugins."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import lazyplug
from lazyplug import _hookcalls, config, factories, hookimpl, plugins
from lazyplug.errors import (
    ConfigError,
    LauncherNotFoundError,
    PluginLoadError,
    PluginRegistrationError,
    PluginWarning,
    TaskFailedError,
)
from lazyplug.host import host
from lazyplug.module import ModuleBase

demo = pytest.importorskip('lazyplug_demo_phases.plugin', reason='tox installs the test distributions')


def run_python(code, **env):
    """Run ``code`` in a fresh interpreter with the extra environment variables; return its result."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    full_env.update(env)
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], env=full_env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


STATUSES = '''
    import json, warnings, lazyplug
    warnings.simplefilter('ignore')
    print(json.dumps({p.name: p.status for p in lazyplug.plugins.list_plugins()}))
'''


def statuses(**env):
    return json.loads(run_python(STATUSES, **env).stdout)


# -- loading -------------------------------------------------------------------------------------

def test_builtins_and_installed_plugins_are_listed_with_their_status(fresh_plugins):
    with pytest.warns(PluginWarning):
        infos = {p.name: p for p in plugins.list_plugins()}
    assert all(infos[name].builtin for name in ('lazyplug.builtin.lifecycle', 'lazyplug.builtin.calls'))
    phases = infos['demo_phases']
    assert (phases.status, phases.distribution, phases.version) == ('loaded', 'lazyplug-demo-phases', '1.0.0')
    assert 'lazyplug_run_task' in phases.hooks and not phases.builtin
    broken = infos['demo_broken']
    assert broken.status == 'failed' and 'broken on purpose' in broken.error


def test_a_plugin_that_fails_to_import_is_one_warning_and_the_host_works_on(fresh_plugins):
    with pytest.warns(PluginWarning) as caught:
        lazyplug.ActionModule(lambda x: x).update()
        lazyplug.ActionModule(lambda x: x).update()
    messages = [str(w.message) for w in caught if 'demo_broken' in str(w.message)]
    assert len(messages) == 1
    assert all(part in messages[0] for part in (
        "'demo_broken'", 'lazyplug_demo_broken.plugin', 'lazyplug-demo-broken 1.0.0',
        'RuntimeError: demo plugin is broken on purpose'))


def test_strict_mode_raises_the_load_error(fresh_plugins):
    with config.temp('strict_plugins', True):
        with pytest.raises(PluginLoadError, match='demo_broken') as info:
            plugins.get_plugin_manager()
    assert isinstance(info.value.__cause__, RuntimeError)


def test_autoload_can_be_turned_off():
    seen = statuses(LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD='1')
    assert seen['demo_phases'] == seen['demo_broken'] == 'not selected'
    assert seen['lazyplug.builtin.lifecycle'] == 'loaded'


def test_only_the_named_plugins_load_by_entry_or_distribution_name():
    assert statuses(LAZYPLUG_PLUGINS='demo_phases') == {**statuses(LAZYPLUG_PLUGINS='lazyplug-demo-phases')}
    seen = statuses(LAZYPLUG_PLUGINS='demo_phases')
    assert (seen['demo_phases'], seen['demo_broken']) == ('loaded', 'not selected')
    none = statuses(LAZYPLUG_PLUGINS='')
    assert (none['demo_phases'], none['demo_broken']) == ('not selected', 'not selected')


def test_named_plugins_load_even_with_autoload_off():
    seen = statuses(LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD='1', LAZYPLUG_PLUGINS='demo_phases')
    assert seen['demo_phases'] == 'loaded'


def test_disabled_plugins_are_blocked():
    seen = statuses(LAZYPLUG_DISABLED_PLUGINS='lazyplug-demo-phases,demo_broken')
    assert seen['demo_phases'] == seen['demo_broken'] == 'blocked'


def test_tracing_writes_hook_calls_to_stderr():
    result = run_python('''
        import warnings, lazyplug
        warnings.simplefilter('ignore')
        lazyplug.ActionModule(lambda x: x).start()
    ''', LAZYPLUG_TRACE_PLUGINS='1')
    assert 'lazyplug_update' in result.stderr and 'lazyplug_run_phase' in result.stderr


def test_the_same_entry_name_in_two_distributions_is_a_warning_naming_both(tmp_path):
    info = tmp_path / 'lazyplug_copycat-2.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: lazyplug-copycat\nVersion: 2.0\n')
    (info / 'entry_points.txt').write_text('[lazyplug]\ndemo_phases = lazyplug_copycat\n')
    result = run_python('''
        import warnings, lazyplug
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            infos = lazyplug.plugins.list_plugins()
        print([str(w.message) for w in caught if 'declared by' in str(w.message)])
        print(sorted((p.name, p.distribution, p.status) for p in infos if p.name == 'demo_phases'))
    ''', PYTHONPATH=str(tmp_path))
    warned, kept = result.stdout.strip().splitlines()
    assert 'lazyplug-demo-phases 1.0.0' in warned and 'lazyplug-copycat 2.0' in warned
    # the distribution found first on sys.path keeps the name, as with imports
    assert "('demo_phases', 'lazyplug-copycat', 'failed')" in kept  # it has no module to import
    assert "('demo_phases', 'lazyplug-demo-phases', 'duplicate')" in kept


# -- validation ----------------------------------------------------------------------------------

def test_a_misspelt_argument_is_refused_at_registration_naming_the_plugin():
    class Misspelt:
        @hookimpl
        def lazyplug_run_task(self, modul, phase, task):
            return None

    with pytest.raises(PluginRegistrationError, match=r"(?s)plugin 'misspelt'.*modul"):
        plugins.register(Misspelt(), name='misspelt')
    assert plugins.get_plugin_manager().get_plugin('misspelt') is None


def test_an_unknown_hook_is_refused_with_the_nearest_name():
    class Typo:
        @hookimpl
        def lazyplug_run_tsk(self, task):
            return None

    with pytest.raises(PluginRegistrationError, match=r"'lazyplug_run_tsk'.*did you mean 'lazyplug_run_task'"):
        plugins.register(Typo(), name='typo')
    assert plugins.get_plugin_manager().get_plugin('typo') is None


def test_unregistering_an_unknown_plugin_is_a_key_error():
    with pytest.raises(KeyError, match='no plugin'):
        plugins.unregister('nobody')


# -- the lifecycle hooks, as the demo plugin uses them ----------------------------------------

class Step(ModuleBase):
    def __init__(self, log, name, **attributes):
        super().__init__(name=name)
        self.log = log
        for key, value in attributes.items():
            setattr(self, key, value)

    def _get_train_tasks(self):
        return lambda: self.log.append(f'train {self.name}')

    def _get_deploy_tasks(self):
        return lambda: self.log.append(f'deploy {self.name}')


def test_wrappers_time_every_update_phase_and_task():
    demo.RECORDS.clear()
    log = []
    root = Step(log, 'root')
    root.child = Step(log, 'child')
    root.update(mode=['train', 'deploy'])
    kinds = [(kind, what) for kind, what, seconds in demo.RECORDS if seconds >= 0]
    assert kinds == [('task', ('train', 'Step')), ('task', ('train', 'Step')), ('phase', 'train'),
                     ('task', ('deploy', 'Step')), ('task', ('deploy', 'Step')), ('phase', 'deploy'),
                     ('phase', 'post'), ('update', 'Step')]


def test_a_plugin_can_skip_tasks():
    demo.SKIPPED.clear()
    log = []
    root = Step(log, 'root')
    root.child = Step(log, 'child', demo_skip=True)
    root.update()
    assert log == ['train root', 'deploy root']
    assert [(phase, m.name) for phase, m in demo.SKIPPED] == [('train', 'child'), ('deploy', 'child')]


def test_a_plugin_can_add_tasks_after_a_modules_own():
    log = []
    root = Step(log, 'root', demo_extra=lambda: log.append('extra root'), demo_extra_phase='train')
    root.update()
    assert log == ['train root', 'extra root', 'deploy root']


def test_lazyplug_collect_tasks_results_may_be_lists():
    log = []

    class Adds:
        @hookimpl
        def lazyplug_collect_tasks(self, module, phase):
            if phase == 'post' and isinstance(module, Step):
                return [lambda: log.append('post 1'), lambda: log.append('post 2')]
            return None

    plugins.register(Adds(), name='adds')
    Step(log, 'only').start()
    assert log == ['deploy only', 'post 1', 'post 2']


def test_a_plugin_can_replace_how_a_phase_runs():
    ran = []

    class Reverse:
        @hookimpl(tryfirst=True)
        def lazyplug_run_phase(self, root, phase, tasks):
            for task in reversed(tasks):
                ran.append(task.module.name)
                task()
            return True

    plugins.register(Reverse(), name='reverse')
    log = []
    root = Step(log, 'root')
    root.child = Step(log, 'child')
    root.start()
    assert log == ['deploy root', 'deploy child'] and ran == ['root', 'child']


def test_a_wrapper_sees_a_failing_task_and_the_update_still_reports_it():
    seen = []

    class Watch:
        @hookimpl(wrapper=True)
        def lazyplug_run_task(self, module, phase, task):
            try:
                return (yield)
            except Exception as exc:
                seen.append(type(exc).__name__)
                raise

    class Fails(ModuleBase):
        def _get_deploy_tasks(self):
            return lambda: 1 / 0

    plugins.register(Watch(), name='watch')
    with pytest.raises(TaskFailedError):
        Fails().start()
    assert seen == ['ZeroDivisionError']


# -- lazyplug_module_call --------------------------------------------------------------------

class Echo(ModuleBase):
    def forward(self, x, **kw):
        return (x, kw)


def test_module_calls_skip_the_hook_while_no_plugin_implements_it():
    plugins.get_plugin_manager()
    assert host.flags.module_call is False


def test_a_module_call_wrapper_sees_every_call_until_it_is_unregistered():
    calls = []

    class Counter:
        @hookimpl(wrapper=True)
        def lazyplug_module_call(self, module, args, kwargs):
            result = yield
            calls.append((type(module).__name__, args, kwargs, result))
            return result

    plugin = Counter()
    plugins.register(plugin, name='counter')
    assert host.flags.module_call is True
    assert Echo()(1, k=2) == (1, {'k': 2})
    assert Echo()(lazyplug.kwargs(x=3)) == (3, {})
    assert Echo()(5) == (5, {})  # the one-argument call, otherwise the fast path
    assert calls == [('Echo', (1,), {'k': 2}, (1, {'k': 2})), ('Echo', (), {'x': 3}, (3, {})),
                     ('Echo', (5,), {}, (5, {}))]
    plugins.unregister(plugin)
    assert host.flags.module_call is False
    Echo()(4)
    assert len(calls) == 3


def test_a_plugin_can_replace_a_module_call():
    class Stub:
        @hookimpl(tryfirst=True)
        def lazyplug_module_call(self, module, args, kwargs):
            return 'stubbed' if isinstance(module, Echo) else None

    plugins.register(Stub(), name='stub')
    assert Echo()(1) == 'stubbed'


# -- what plugins provide by name -------------------------------------------------------------

class Launcher:
    def __init__(self, **options):
        self.options = options

    def launch(self, spec, replicas):
        raise NotImplementedError


@pytest.fixture
def builtins_only(fresh_plugins):
    """A plugin manager with the built-in plugins only: the names listed are the same wherever the tests run."""
    with config.temp('plugins', ()):
        yield


@pytest.fixture
def mine(builtins_only):
    """The launcher 'mine', registered by the plugin 'launchers'."""
    class Launchers:
        @hookimpl
        def lazyplug_register_launchers(self, register):
            register('mine', Launcher)

    plugins.register(Launchers(), name='launchers')


def test_a_registered_launcher_is_made_with_the_options_given(mine):
    assert factories.launcher_names() == ['local', 'thread', 'mine']
    made = factories.make_launcher('mine', {'x': 1})
    assert isinstance(made, Launcher) and made.options == {'x': 1}


def test_an_unknown_launcher_lists_every_launcher_with_its_source(mine):
    with pytest.raises(LauncherNotFoundError) as info:
        factories.make_launcher('nowhere')
    assert str(info.value) == "no launcher 'nowhere'; launchers: local, thread (built in); mine (launchers)"


def test_a_server_module_without_a_launcher_fails_its_deploy_clearly(builtins_only):
    with config.temp('launcher', 'nowhere'):
        with pytest.raises(TaskFailedError, match='deploy task') as info:
            lazyplug.ServerModule(lambda x: x).start()
    assert isinstance(info.value.__cause__, LauncherNotFoundError)
    message = str(info.value.__cause__)
    assert message.startswith("no launcher 'nowhere' for ") and 'served by ServerModule' in message
    assert message.endswith('; launchers: local, thread (built in)')


def test_a_name_taken_by_an_earlier_plugin_is_refused_with_a_warning_naming_both(builtins_only):
    class Again:
        @hookimpl
        def lazyplug_register_launchers(self, register):
            register('local', Launcher)
            register('again', Launcher)

    plugins.register(Again(), name='again')
    with pytest.warns(PluginWarning, match="launcher 'local' of plugin 'again' is left out: plugin "
                                           "'lazyplug.builtin.launchers' registered it first"):
        names = factories.launcher_names()
    assert names == ['local', 'thread', 'again']
    assert not isinstance(factories.make_launcher('local'), Launcher)


def test_a_plugin_whose_register_hook_fails_registers_nothing_and_the_others_work(builtins_only):
    class Fails:
        @hookimpl
        def lazyplug_register_launchers(self, register):
            register('half', Launcher)
            raise RuntimeError('no launchers today')

    plugins.register(Fails(), name='fails')
    with pytest.warns(PluginWarning, match="plugin 'fails' failed to register its launchers.*no launchers today"):
        assert factories.launcher_names() == ['local', 'thread']


@pytest.mark.parametrize('name, factory, words', [
    ('Bad Name', Launcher, "'Bad Name' is not a valid launcher name"),
    ('fine', 'not callable', "the factory of launcher 'fine' is not callable"),
])
def test_a_bad_registration_is_refused_naming_the_plugin(builtins_only, name, factory, words):
    class Bad:
        @hookimpl
        def lazyplug_register_launchers(self, register):
            register(name, factory)

    plugins.register(Bad(), name='bad')
    with pytest.warns(PluginWarning, match=f"plugin 'bad' failed to register its launchers.*{words}"):
        assert 'fine' not in factories.launcher_names()
    with config.temp('strict_plugins', True), pytest.raises(PluginRegistrationError, match=words):
        plugins.register(Bad(), name='bad again')
        factories.launcher_names()


def test_what_a_factory_makes_must_be_of_its_interface():
    class Wrong:
        @hookimpl
        def lazyplug_register_launchers(self, register):
            register('wrong', lambda **options: object())

    plugins.register(Wrong(), name='wrong')
    with pytest.raises(PluginRegistrationError, match=r"launcher 'wrong' of plugin 'wrong' made <object .*>, "
                                                      r'which is no Launcher: it lacks launch'):
        factories.make_launcher('wrong')


def test_a_registry_is_made_by_the_factory_of_its_urls_scheme(builtins_only):
    class Registry:
        def __init__(self, url):
            self.url = url

        publish = lookup = remove = list = lambda *a: None

    class Registries:
        @hookimpl
        def lazyplug_register_service_registries(self, register):
            register('demo', Registry)

    plugins.register(Registries(), name='registries')
    assert factories.registry_schemes() == ['memory', 'sqlite', 'demo']
    assert factories.make_service_registry('demo://here').url == 'demo://here'
    with pytest.raises(ConfigError, match=r"no service registry for 'other://x': .* schemes: memory, sqlite "
                                          r'\(built in\); demo \(registries\)'):
        factories.make_service_registry('other://x')


def test_lazyplug_register_commands_lets_plugins_add_commands():
    class Cli:
        def __init__(self):
            self.commands = []

        def add_command(self, command):
            self.commands.append(command)

    class Commands:
        @hookimpl
        def lazyplug_register_commands(self, cli):
            cli.add_command('hello')

    plugins.register(Commands(), name='commands')
    cli = Cli()
    called = []
    _hookcalls.register_commands(cli, lambda plugin, error: called.append((plugin, error)))
    assert cli.commands == ['hello'] and called == [('commands', None)]
