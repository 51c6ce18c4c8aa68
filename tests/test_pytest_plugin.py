"""The pytest plugin lazyplug ships: its fixtures isolate tests from each other."""

pytest_plugins = ['pytester']

TESTS = '''
import lazyplug
from lazyplug import module_register, plugins


def test_registers_a_group(lazyplug_registry):
    @module_register('leaky')
    def thing(x):
        return x
    assert lazyplug.leaky.thing()(1) == 1


def test_does_not_see_it(lazyplug_registry):
    assert not hasattr(lazyplug, 'leaky')


class Counter:
    calls = []

    @lazyplug.hookimpl(wrapper=True)
    def lazyplug_module_call(self, module, args, kwargs):
        Counter.calls.append(args)
        return (yield)


def test_registers_a_plugin(lazyplug_plugins):
    plugins.register(Counter(), name='counter')
    lazyplug.ActionModule(lambda x: x)(1)
    assert Counter.calls == [(1,)]


def test_does_not_see_the_plugin(lazyplug_plugins):
    assert plugins.get_plugin_manager().get_plugin('counter') is None


def test_home_is_private(lazyplug_isolated, lazyplug_home, tmp_path):
    assert str(lazyplug.config['home']).startswith(str(tmp_path))
'''


def test_the_fixtures_isolate_registrations_plugins_and_home(pytester):
    pytester.makepyfile(test_isolation=TESTS)
    result = pytester.runpytest_subprocess('-p', 'no:randomly', '-W', 'ignore::lazyplug.errors.PluginWarning')
    result.assert_outcomes(passed=5)


def test_the_plugin_is_found_through_its_entry_point():
    import importlib.metadata
    names = {ep.value for ep in importlib.metadata.entry_points(group='pytest11')}
    assert 'lazyplug.pytest_plugin' in names
