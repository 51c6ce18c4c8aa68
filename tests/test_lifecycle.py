"""update(): the plan, the phases, workers, failures."""

import threading
import time

import pytest

import lazyplug
from lazyplug import hookimpl, plugins
from lazyplug.errors import InvalidArgumentError, InvalidModeError, TaskFailedError
from lazyplug.module import ModuleBase


class Step(ModuleBase):
    """Records its tasks in a shared log."""

    def __init__(self, log, name, *children):
        super().__init__(name=name)
        self.log = log
        for i, child in enumerate(children):
            setattr(self, f'c{i}', child)

    def _get_train_tasks(self):
        return lambda: self.log.append(f'train {self.name}')

    def _get_deploy_tasks(self):
        return lambda: self.log.append(f'deploy {self.name}')

    def _get_post_process_tasks(self):
        return lambda: self.log.append(f'post {self.name}')

    def forward(self, x):
        return x


def tree(log):
    return Step(log, 'root', Step(log, 'a', Step(log, 'a1'), Step(log, 'a2')), Step(log, 'b'))


def test_update_runs_all_training_then_deploys_children_first_then_post():
    log = []
    root = tree(log)
    assert root.update() is root
    assert log == ['train a1', 'train a2', 'train a', 'train b', 'train root',
                   'deploy a1', 'deploy a2', 'deploy a', 'deploy b', 'deploy root',
                   'post a1', 'post a2', 'post a', 'post b', 'post root']


def test_mode_selects_phases_and_post_always_runs():
    log = []
    tree(log).update(mode='train')
    assert log == ['train a1', 'train a2', 'train a', 'train b', 'train root',
                   'post a1', 'post a2', 'post a', 'post b', 'post root']


def test_modes_run_in_lifecycle_order_whatever_order_they_are_given_in():
    log = []
    Step(log, 'x').update(mode=['deploy', 'train'])
    assert log == ['train x', 'deploy x', 'post x']


def test_lazyllms_server_mode_is_the_deploy_phase():
    log, phases = [], []

    class Phases:
        @hookimpl(wrapper=True)
        def lazyplug_run_phase(self, root, phase, tasks):
            phases.append(phase)
            return (yield)

    plugins.register(Phases(), name='phases')
    Step(log, 'x').update(mode='deploy')
    assert (log, phases) == (['deploy x', 'post x'], ['deploy', 'post'])


def test_an_unknown_mode_is_refused_listing_the_valid_ones_and_nothing_runs():
    log = []
    with pytest.raises(InvalidModeError, match=r"'serve'.*'train', 'deploy', 'eval' \(LazyLLM's 'server' is"):
        Step(log, 'x').update(mode='serve')
    assert isinstance(InvalidModeError('x'), ValueError)
    assert log == []


def test_start_deploys_and_update_server_is_the_same_phase():
    log = []
    Step(log, 'x').start()
    Step(log, 'y').update_server()
    assert log == ['deploy x', 'post x', 'deploy y', 'post y']


def test_recursive_false_plans_the_root_alone():
    log = []
    tree(log).update(recursive=False, mode='deploy')
    assert log == ['deploy root', 'post root']


def test_a_module_reachable_twice_runs_its_tasks_once_at_its_first_place():
    log = []
    shared = Step(log, 'shared')
    root = Step(log, 'root', Step(log, 'a', shared), Step(log, 'b', shared))
    root.update(mode='deploy')
    assert [e for e in log if e.startswith('deploy')] == ['deploy shared', 'deploy a', 'deploy b', 'deploy root']


def test_a_cycle_between_modules_ends_the_walk_with_each_module_once():
    log = []
    a = Step(log, 'a')
    b = Step(log, 'b', a)
    a.back = b  # a -> b -> a
    a.update(mode='deploy')
    assert [e for e in log if e.startswith('deploy')] == ['deploy b', 'deploy a']


def test_a_chain_of_ten_thousand_nested_modules_updates_without_recursion():
    log = []
    root = node = Step(log, 'n0')
    for i in range(1, 10_000):
        child = Step(log, f'n{i}')
        node.child = child
        node = child
    root.update(mode='deploy')
    deploys = [e for e in log if e.startswith('deploy')]
    assert len(deploys) == 10_000
    assert deploys[0] == 'deploy n9999' and deploys[-1] == 'deploy n0'
    assert root.stop() is root


def test_task_getters_may_return_a_callable_a_flow_a_list_or_none():
    log = []

    class Many(ModuleBase):
        def _get_deploy_tasks(self):
            return [lambda: log.append(1), [lazyplug.pipeline(lambda: log.append(2))], None]

    Many().start()
    assert log == [1, 2]


def test_a_task_getter_returning_something_else_is_a_clear_error():
    class Bad(ModuleBase):
        def _get_deploy_tasks(self):
            return 42

    with pytest.raises(TypeError, match='_get_deploy_tasks of <Module type=Bad> returned 42'):
        Bad().start()


def test_a_failing_task_names_module_phase_and_task_and_keeps_the_cause():
    class Fails(ModuleBase):
        def _get_train_tasks(self):
            return lazyplug.pipeline(self.boom)

        def boom(self):
            raise OSError('disk full')

    with pytest.raises(TaskFailedError) as info:
        Fails(name='f').update()
    err = info.value
    assert err.phase == 'train' and isinstance(err.module, Fails) and err.task.index == 0
    assert 'train task #0' in str(err) and 'Fails(f)' in str(err) and 'OSError: disk full' in str(err)
    assert isinstance(err.__cause__, OSError)


def failing_tree(log):
    class Breaks(Step):
        def _get_deploy_tasks(self):
            def boom():
                raise RuntimeError('cannot deploy')
            return boom

    class Stoppable(Step):
        def _on_stop(self):
            self.log.append(f'stop {self.name}')

    return Stoppable(log, 'root', Stoppable(log, 'ok'), Breaks(log, 'bad'), Stoppable(log, 'later'))


def test_a_failed_update_stops_what_it_deployed():
    log = []
    with pytest.raises(TaskFailedError, match='cannot deploy'):
        failing_tree(log).update(mode='deploy')
    assert log == ['deploy ok', 'stop ok']


def test_keep_on_failure_leaves_what_was_deployed_running():
    log = []
    with pytest.raises(TaskFailedError):
        failing_tree(log).update(mode='deploy', keep_on_failure=True)
    assert log == ['deploy ok']


def test_workers_must_be_a_whole_number_of_at_least_one():
    for bad in (0, -1, 1.5, True, 'two'):
        with pytest.raises(InvalidArgumentError, match='workers'):
            ModuleBase().update(workers=bad)


def test_the_workers_setting_is_the_default():
    with lazyplug.config.temp('workers', 3):
        seen = []

        class Peek(ModuleBase):
            def _get_deploy_tasks(self):
                return lambda: seen.append(threading.current_thread().name)

        Peek().start()
    # with one task the phase runs in the caller's thread even with several workers
    assert seen == [threading.current_thread().name]


class Timed(ModuleBase):
    """A deploy task that takes a while and records when it started and ended."""

    def __init__(self, events, name, *children):
        super().__init__(name=name)
        self.events = events
        for i, child in enumerate(children):
            setattr(self, f'c{i}', child)

    def _get_deploy_tasks(self):
        def deploy():
            self.events.append(('start', self.name))
            time.sleep(0.05)
            self.events.append(('end', self.name))
        return deploy


def test_with_several_workers_siblings_deploy_at_once_but_parents_wait_for_descendants():
    events = []
    root = Timed(events, 'root', Timed(events, 'a', Timed(events, 'a1'), Timed(events, 'a2')),
                 Timed(events, 'b'))
    root.start(workers=4)
    position = {e: i for i, e in enumerate(events)}
    # siblings overlap: both leaves start before either ends
    assert position[('start', 'a2')] < position[('end', 'a1')]
    assert position[('start', 'a1')] < position[('end', 'a2')]
    # a parent starts only after all its descendants ended
    assert position[('start', 'a')] > max(position[('end', 'a1')], position[('end', 'a2')])
    assert position[('start', 'root')] > max(position[('end', n)] for n in ('a', 'a1', 'a2', 'b'))


def test_with_several_workers_a_failure_stops_new_tasks_and_reports_the_module():
    log = []
    with pytest.raises(TaskFailedError, match='bad'):
        failing_tree(log).update(mode='deploy', workers=3)
    assert 'deploy root' not in log


def test_a_task_is_labelled_by_its_public_module_not_by_internals():
    from lazyplug.lifecycle import Task

    def double(x):
        return x * 2

    server = lazyplug.ServerModule(double)
    deploy = Task(server._impl, 'deploy', server._impl._get_deploy_tasks(), 0)
    assert deploy.label == 'ServerModule(double)' and deploy.name == '#0 ServerModule(double)'
    assert '_ServerModuleImpl' not in repr(deploy) and '_deploy' not in repr(deploy)
    named = lazyplug.ServerModule(lazyplug.ActionModule(double))
    named._impl._m.name = 'twice'
    assert Task(named._impl, 'deploy', named._impl._deploy, 0).label == 'ServerModule(twice)'
    flow = lazyplug.pipeline(double)
    app = lazyplug.ActionModule(flow)
    app.name = 'app'
    assert Task(app, 'train', flow, 1).name == '#1 ActionModule(app)'
