"""Every hook is documented and exercised by some test (a new hook without both fails here)."""

import inspect
import pathlib

import pytest

from lazyplug import hookspecs

HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if name.startswith('lazyplug_') and inspect.isfunction(value))
TESTS = pathlib.Path(__file__).parent
OTHER_TESTS = '\n'.join(p.read_text() for p in TESTS.rglob('test_*.py') if p.name != 'test_hookspecs.py')


def test_the_hooks_of_the_design_are_all_specified():
    assert set(HOOKS) >= {'lazyplug_update', 'lazyplug_run_phase', 'lazyplug_run_task', 'lazyplug_collect_tasks',
                          'lazyplug_module_call', 'lazyplug_register_launchers', 'lazyplug_register_service_registries',
                          'lazyplug_register_cache_stores', 'lazyplug_register_commands'}


@pytest.mark.parametrize('name', HOOKS)
def test_every_hook_says_when_it_is_called_and_what_it_returns(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ''
    assert len(doc) > 80 and 'Called' in doc, f'{name} needs a docstring saying when it is called'
    assert ':return:' in doc or 'return' in doc.lower()


@pytest.mark.parametrize('name', HOOKS)
def test_every_hook_is_exercised_by_a_test(name):
    assert name in OTHER_TESTS, f'no test mentions {name}'
