"""The template plugin as a user installs it: its module group and its hook plugin, each test
isolated by the fixtures of lazyplug's pytest plugin."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from lazyplug_template import timing

import lazyplug


def test_the_module_group_exists_once_installed(lazyplug_registry):
    assert lazyplug.template.shout()('hi') == 'HI!'


def test_the_glossary_learns_in_the_train_phase(lazyplug_registry):
    glossary = lazyplug.template.Glossary({'Module': 'a unit of an application'})
    with pytest.raises(RuntimeError, match='not trained'):
        glossary('module')
    glossary.update(mode='train')
    assert glossary('MODULE') == 'a unit of an application'


def test_the_hook_plugin_is_loaded_from_its_entry_point(lazyplug_plugins):
    info = {i.name: i for i in lazyplug.plugins.list_plugins()}['template_timing']
    assert (info.status, info.distribution, info.hooks) == ('loaded', 'lazyplug-template', ('lazyplug_run_phase',))


def test_the_wrapper_times_every_phase_of_an_update(lazyplug_isolated):
    timing.TIMES.clear()
    lazyplug.template.Glossary({'term': 'meaning'}).update()
    assert [(phase, tasks) for phase, tasks, _ in timing.TIMES] == [
        ('train', 1), ('deploy', 0), ('eval', 0), ('post', 0)]


def test_the_wrapper_times_a_failing_phase_and_lets_the_error_through(lazyplug_isolated):
    timing.TIMES.clear()
    glossary = lazyplug.template.Glossary({})
    glossary.evalset(['term'])
    with pytest.raises(lazyplug.errors.TaskFailedError, match='not trained'):
        glossary.update(mode='eval')
    assert [phase for phase, _, _ in timing.TIMES] == ['eval']


def test_a_blocked_plugin_times_nothing(lazyplug_isolated):
    timing.TIMES.clear()
    with lazyplug.config.temp('disabled_plugins', ('template_timing',)):  # the fresh manager is built here
        lazyplug.template.Glossary({}).update()
        assert {i.name: i.status for i in lazyplug.plugins.list_plugins()}['template_timing'] == 'blocked'
    assert timing.TIMES == []


def test_the_lazyplug_command_lists_the_plugin_and_the_group():
    command = str(Path(sys.executable).with_name('lazyplug'))
    plugins = subprocess.run([command, 'plugins'], capture_output=True, text=True, timeout=120)
    assert re.search(r'^lazyplug-template 0\.1\.0\n  hook plugin +template_timing: run_phase\n'
                     r'  module group +template: shout, Glossary$', plugins.stdout, re.M), plugins.stdout
    modules = subprocess.run([command, 'modules', 'template'], capture_output=True, text=True, timeout=120)
    assert 'Glossary' in modules.stdout and 'lazyplug_template.modules.shout' in modules.stdout, modules.stdout
