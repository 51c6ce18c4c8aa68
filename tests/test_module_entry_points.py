"""Module groups from the lazyplug.modules entry points of the installed lazyplug-demo-modules and
lazyplug-demo-broken distributions."""

import os
import subprocess
import sys
import textwrap
import warnings

import pytest

import lazyplug
from lazyplug import module_register
from lazyplug.errors import DuplicateRegistrationError, PluginWarning

pytest.importorskip('lazyplug_demo_modules', reason='tox installs the test distributions')


def test_modules_of_the_module_form_entry_are_found_by_the_look_up_rules():
    assert lazyplug.demo.shout()('hi') == 'HI!'
    assert lazyplug.demo.SHOUT is lazyplug.demo.shoutdemo is lazyplug.demo.shout
    assert lazyplug.demo.text.strip()('  x ') == 'x'


def test_objects_of_the_single_entry_form_are_registered_under_the_entry_name():
    assert lazyplug.demo.reverse()('abc') == 'cba'
    assert lazyplug.demo.doubler()(4) == 8


def test_entry_point_modules_take_part_in_update():
    from lazyplug_demo_modules.group import Trainer
    Trainer.log.clear()
    app = lazyplug.ActionModule(lazyplug.demo.Trainer(name='t1'), lazyplug.demo.shout())
    app.update()
    assert Trainer.log == ['trained t1', 'deployed t1']
    assert app('x') == 'X!'


def test_entry_points_load_only_when_their_group_is_touched():
    code = textwrap.dedent('''
        import sys, warnings
        warnings.simplefilter('ignore')
        def loaded():
            return sorted(m for m in ('pluggy', 'importlib.metadata', 'lazyplug_demo_modules',
                                      'lazyplug_demo_phases', 'lazyplug_demo_broken') if m in sys.modules)
        import lazyplug
        print(loaded())
        lazyplug.demo.shout
        print(loaded())
        lazyplug.ActionModule(lambda x: x)(1)
        print(loaded())
    ''')
    env = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        '[]',
        "['importlib.metadata', 'lazyplug_demo_modules']",
        # the first hook call loads the hook plugins (the broken one's import is attempted)
        "['importlib.metadata', 'lazyplug_demo_broken', 'lazyplug_demo_modules', 'lazyplug_demo_phases', 'pluggy']",
    ]


def test_registering_into_an_entry_point_group_loads_its_entries_first_so_a_clash_is_refused():
    def shout(text):
        return 'mine'

    with pytest.raises(DuplicateRegistrationError) as info:
        module_register('demo')(shout)  # before anything touched lazyplug.demo
    message = str(info.value)
    assert 'test_module_entry_points' in message and 'lazyplug_demo_modules.group.shout' in message
    assert lazyplug.demo.shout()('x') == 'X!'  # the distribution's module stays
    assert lazyplug.demo.reverse()('ab') == 'ba'


def test_a_broken_entry_point_is_one_warning_and_leaves_nothing_half_registered():
    with pytest.warns(PluginWarning) as caught:
        group = lazyplug.brokengroup
        assert 'half' not in group and 'sub' not in group
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert all(part in messages[0] for part in (
        "'brokengroup'", 'lazyplug_demo_broken.group', 'lazyplug-demo-broken 1.0.0',
        'RuntimeError: demo module group is broken on purpose'))
    assert lazyplug.demo.shout()('ok') == 'OK!'


def test_in_strict_mode_a_broken_group_raises_on_every_touch():
    from lazyplug.errors import PluginLoadError
    with lazyplug.config.temp('strict_plugins', True):
        for _ in range(2):
            with pytest.raises(PluginLoadError, match='broken on purpose'):
                lazyplug.brokengroup.half


def test_entry_point_statuses_are_listed():
    with pytest.warns(PluginWarning):
        infos = {i.name: i for i in lazyplug.registry.list_module_entry_points()}
    assert infos['demo'].status == infos['demo.reverse'].status == 'loaded'
    assert infos['brokengroup'].status == 'failed' and 'broken on purpose' in infos['brokengroup'].error
    assert infos['demo'].distribution == 'lazyplug-demo-modules'


def test_an_unknown_group_lists_the_entry_point_groups():
    with pytest.raises(AttributeError, match=r"did you mean lazyplug.demo\?"):
        lazyplug.dem


def test_a_blocked_distribution_adds_no_group_and_is_not_imported():
    with lazyplug.config.temp('disabled_plugins', ('lazyplug-demo-broken',)), warnings.catch_warnings():
        warnings.simplefilter('error', PluginWarning)  # its broken module is never imported
        with pytest.raises(AttributeError, match="no attribute or module group 'brokengroup'"):
            lazyplug.brokengroup
        infos = {i.name: i for i in lazyplug.registry.list_module_entry_points()}
    assert (infos['brokengroup'].status, infos['brokengroup'].error) == (
        'blocked', 'named in LAZYPLUG_DISABLED_PLUGINS')
    assert 'brokengroup' not in lazyplug.registry.groups()


def test_only_the_selected_distributions_add_groups():
    with lazyplug.config.temp('plugins', ('lazyplug-demo-modules',)), warnings.catch_warnings():
        warnings.simplefilter('error', PluginWarning)
        assert lazyplug.demo.shout()('a') == 'A!'
        infos = {i.name: i.status for i in lazyplug.registry.list_module_entry_points()}
    assert infos['demo'] == 'loaded' and infos['brokengroup'] == 'not selected'


def test_with_autoload_off_no_group_comes_from_entry_points():
    with lazyplug.config.temp('disable_plugin_autoload', True):
        with pytest.raises(AttributeError):
            lazyplug.demo
        assert {i.status for i in lazyplug.registry.list_module_entry_points()} == {'not selected'}
