"""The installed lazyplug-demo-phases plugin around an update with several workers, choosing the
entry-point plugins in-process (``config.temp`` inside a fresh plugin manager), and the deployment
hooks when no plugin provides what is asked."""

import threading
import warnings

import pytest

import lazyplug
from lazyplug import config, plugins
from lazyplug.errors import PluginWarning
from lazyplug.host import host
from lazyplug.module import ModuleBase

demo = pytest.importorskip('lazyplug_demo_phases.plugin', reason='tox installs the test distributions')


class Node(ModuleBase):
    """A deploy task that records when it starts and ends; ``meet`` makes it wait for others."""

    def __init__(self, events, name, *children, meet=None, **attributes):
        super().__init__(name=name)
        self.events = events
        self.meet = meet
        for i, child in enumerate(children):
            setattr(self, f'c{i}', child)
        for key, value in attributes.items():
            setattr(self, key, value)

    def _get_deploy_tasks(self):
        def deploy():
            self.events.append(('start', self.name))
            if self.meet is not None:
                self.meet.wait()  # returns only once every leaf is running: they run at once
            self.events.append(('end', self.name))
        return deploy


def descendants(module):
    found = []
    module.for_each(lambda m: True, found.append)
    return found


def test_with_four_workers_a_parent_deploys_only_after_its_descendants_and_the_plugins_tasks():
    events = []
    leaves = threading.Barrier(3, timeout=30)
    extra = lambda: events.append(('extra', 'a1'))  # noqa: E731 - a task the demo plugin adds
    a1 = Node(events, 'a1', meet=leaves, demo_extra=extra)
    root = Node(events, 'root', Node(events, 'a', a1, Node(events, 'a2', meet=leaves)),
                Node(events, 'b', meet=leaves))
    demo.RECORDS.clear()
    root.start(workers=4)
    position = {event: i for i, event in enumerate(events)}
    assert len(position) == len(events) == 11  # each of the five deploys started and ended once
    assert position[('extra', 'a1')] > position[('end', 'a1')]
    for parent in (root, root.c0):
        last_below = max([position[('end', m.name)] for m in descendants(parent)] + [position[('extra', 'a1')]])
        assert position[('start', parent.name)] > last_below, events
    # the demo plugin's wrappers saw each of the six deploy tasks, from whichever thread ran it
    assert sorted(what for kind, what, _ in demo.RECORDS if kind == 'task') == [('deploy', 'Node')] * 6
    assert [what for kind, what, _ in demo.RECORDS if kind != 'task'] == ['deploy', 'post', 'Node']


# -- choosing plugins in-process -----------------------------------------------------------------

def statuses():
    return {p.name: p.status for p in plugins.list_plugins()}


def test_only_the_plugins_named_in_the_setting_load_and_the_others_are_not_tried(fresh_plugins):
    with config.temp('plugins', ('lazyplug-demo-phases',)), warnings.catch_warnings():
        warnings.simplefilter('error', PluginWarning)  # demo_broken is not even tried
        seen = statuses()
    assert (seen['demo_phases'], seen['demo_broken']) == ('loaded', 'not selected')


def test_an_empty_selection_loads_no_entry_point_plugin_and_restores_the_fast_paths(fresh_plugins):
    with config.temp('plugins', ()):
        seen = statuses()
    assert seen['demo_phases'] == seen['demo_broken'] == 'not selected'
    assert seen['lazyplug.builtin.lifecycle'] == 'loaded'
    assert (host.flags.run_task, host.flags.collect_tasks) == (False, False)


def test_a_blocked_plugin_takes_no_part_in_updates(fresh_plugins):
    with config.temp('disabled_plugins', ('demo_phases', 'lazyplug-demo-broken')):
        seen = statuses()
    assert seen['demo_phases'] == seen['demo_broken'] == 'blocked'
    demo.RECORDS.clear()
    events = []
    Node(events, 'opted in', demo_skip=True, demo_extra=lambda: events.append('extra')).start()
    assert events == [('start', 'opted in'), ('end', 'opted in')]  # not skipped, nothing added
    assert demo.RECORDS == []


def test_with_autoload_off_no_entry_point_plugin_loads(fresh_plugins):
    with config.temp('disable_plugin_autoload', True):
        seen = statuses()
    assert seen['demo_phases'] == seen['demo_broken'] == 'not selected'
    assert plugins.get_plugin_manager().get_plugin('demo_phases') is None


def test_tracing_writes_each_hook_call_to_stderr(fresh_plugins, capsys):
    with config.temp('trace_plugins', True), config.temp('plugins', ('demo_phases',)):
        lazyplug.ActionModule(lambda x: x).update(mode='train')
    err = capsys.readouterr().err
    assert all(f'{hook} [hook]' in err for hook in ('lazyplug_update', 'lazyplug_run_phase'))
