"""The pytest plugin lazyplug ships: its fixtures isolate tests from each other."""

pytest_plugins = ['pytester']

TESTS = '''
import lazyplug
from lazyplug import module_register, plugins


def test_registers_a_group(lazyplug_registry):
    module_register.new_group('leaky')

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


LEAKS = '''
import subprocess, sys


def sleeper():
    return subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])


def test_stops_what_it_starts(lazyplug_no_processes_left):
    process = sleeper()
    process.kill()
    process.wait()


def test_leaves_a_process_running(lazyplug_no_processes_left):
    with open('leaked.pid', 'w') as f:
        f.write(str(sleeper().pid))
'''


def test_a_test_that_leaves_a_process_running_fails(pytester):
    import psutil
    pytester.makepyfile(test_leaks=LEAKS)
    try:
        result = pytester.runpytest_subprocess('-p', 'no:randomly', '-W', 'ignore::lazyplug.errors.PluginWarning')
    finally:
        leaked = psutil.Process(int((pytester.path / 'leaked.pid').read_text()))
        leaked.kill()
        leaked.wait(10)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(['*processes left behind*time.sleep(300)*'])
