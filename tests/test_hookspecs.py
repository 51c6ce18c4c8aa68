"""Every hook is documented (when it is called, each argument, its result) and is reached through
lazyplug's public API: a plugin implementing it sees it called. A new hook without both fails here."""

import inspect
import re

import pytest

import lazyplug
from lazyplug import factories, hookimpl, hookspecs, plugins

HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if name.startswith('lazyplug_') and inspect.isfunction(value))


def test_the_hooks_of_the_design_are_all_specified():
    assert set(HOOKS) >= {'lazyplug_update', 'lazyplug_run_phase', 'lazyplug_run_task', 'lazyplug_collect_tasks',
                          'lazyplug_module_call', 'lazyplug_flow_call', 'lazyplug_service_call', 'lazyplug_serve_call',
                          'lazyplug_register_launchers', 'lazyplug_register_service_registries',
                          'lazyplug_register_cache_stores', 'lazyplug_register_commands'}


@pytest.mark.parametrize('name', HOOKS)
def test_every_hook_says_when_it_is_called(name):
    summary = (inspect.getdoc(getattr(hookspecs, name)) or '').split(':param', 1)[0]
    assert re.search(r'^Called ', summary, re.M), f'{name} needs a paragraph saying when it is called'


@pytest.mark.parametrize('name', HOOKS)
def test_every_hook_documents_each_argument(name):
    spec = getattr(hookspecs, name)
    documented = re.findall(r'^:param (\w+): \S', inspect.getdoc(spec) or '', re.M)
    assert documented == list(inspect.signature(spec).parameters), f'{name} documents {documented}'


@pytest.mark.parametrize('name', HOOKS)
def test_every_hook_says_what_it_returns(name):
    spec = getattr(hookspecs, name)
    returns = re.search(r'^:return: (\S.*)', inspect.getdoc(spec) or '', re.M)
    assert returns, f'{name} needs a ":return:" field'
    if inspect.signature(spec).return_annotation == 'None':
        assert returns.group(1).startswith('nothing'), f'{name} returns None: its doc must say it returns nothing'
    else:
        assert len(returns.group(1)) > 20, f'{name} must say what its result means'


# -- every hook is reached through the public API --------------------------------------------------

class Recorder:
    """Implements every hook without changing anything, and records which were called."""

    def __init__(self):
        self.called = set()

    @hookimpl(wrapper=True)
    def lazyplug_update(self, root, modes, plan):
        self.called.add('lazyplug_update')
        return (yield)

    @hookimpl(wrapper=True)
    def lazyplug_run_phase(self, root, phase, tasks):
        self.called.add('lazyplug_run_phase')
        return (yield)

    @hookimpl(wrapper=True)
    def lazyplug_run_task(self, module, phase, task):
        self.called.add('lazyplug_run_task')
        return (yield)

    @hookimpl
    def lazyplug_collect_tasks(self, module, phase):
        self.called.add('lazyplug_collect_tasks')

    @hookimpl
    def lazyplug_task_progress(self, module, phase, done, total):
        self.called.add('lazyplug_task_progress')

    @hookimpl(wrapper=True)
    def lazyplug_module_call(self, module, args, kwargs):
        self.called.add('lazyplug_module_call')
        return (yield)

    @hookimpl(wrapper=True)
    def lazyplug_flow_call(self, flow, args, kwargs):
        self.called.add('lazyplug_flow_call')
        return (yield)

    @hookimpl(wrapper=True)
    def lazyplug_service_call(self, service, method, headers, call):
        self.called.add('lazyplug_service_call')
        return (yield)

    @hookimpl(wrapper=True)
    def lazyplug_serve_call(self, service, target, method, headers, call):
        self.called.add('lazyplug_serve_call')
        return (yield)

    @hookimpl
    def lazyplug_register_launchers(self, register):
        self.called.add('lazyplug_register_launchers')

    @hookimpl
    def lazyplug_register_service_registries(self, register):
        self.called.add('lazyplug_register_service_registries')

    @hookimpl
    def lazyplug_register_cache_stores(self, register):
        self.called.add('lazyplug_register_cache_stores')

    @hookimpl
    def lazyplug_register_commands(self, cli):
        self.called.add('lazyplug_register_commands')


class Trained(lazyplug.ModuleBase):
    def _get_train_tasks(self):
        return lambda: None

    def forward(self, x):
        return x


def make_cli():
    from lazyplug.cli import make_cli
    return make_cli()


def call_a_served_module():
    served = lazyplug.ServerModule(Trained(), launcher='thread')
    try:
        served.start()
        assert served(3) == 3
    finally:
        served.stop()


def evaluate():
    module = Trained()
    module.evalset([1, 2])
    module.eval()


EXERCISES = {
    'lazyplug_update': lambda: Trained().update(),
    'lazyplug_run_phase': lambda: Trained().update(),
    'lazyplug_run_task': lambda: Trained().update(mode='train'),
    'lazyplug_collect_tasks': lambda: Trained().update(mode='train'),
    'lazyplug_task_progress': evaluate,
    'lazyplug_module_call': lambda: Trained()(1),
    'lazyplug_flow_call': lambda: lazyplug.pipeline(Trained())(1),
    'lazyplug_service_call': call_a_served_module,
    'lazyplug_serve_call': call_a_served_module,
    'lazyplug_register_launchers': factories.launcher_names,
    'lazyplug_register_service_registries': factories.registry_schemes,
    'lazyplug_register_cache_stores': factories.cache_strategies,
    'lazyplug_register_commands': make_cli,
}
"""How each hook is reached: what a program (or the command line) does that calls it."""


@pytest.mark.parametrize('name', HOOKS)
def test_every_hook_is_called_when_a_program_does_what_it_is_for(name):
    assert name in EXERCISES, f'no test reaches {name}: add what calls it to EXERCISES'
    recorder = Recorder()
    plugins.register(recorder, name='recorder')
    EXERCISES[name]()
    assert name in recorder.called
