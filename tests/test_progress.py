"""The built-in progress plugin (lazyplug.builtin.progress) and the lazyplug_task_progress hook."""

import pytest

import lazyplug
from lazyplug import _hookcalls, config, hookimpl, plugins
from lazyplug.host import host
from lazyplug.module import ModuleBase

PROGRESS = 'lazyplug.builtin.progress'


class Worker(ModuleBase):
    def __init__(self, name, fail=False):
        super().__init__(name=name)
        self.fail = fail

    def _get_train_tasks(self):
        return self.train

    def train(self):
        if self.fail:
            raise RuntimeError('training failed')

    def forward(self, x):
        return x * 2


@pytest.fixture
def core_only(fresh_plugins):
    """A plugin manager with the built-in plugins alone (no installed ones wrapping tasks)."""
    with config.temp('disable_plugin_autoload', True):
        yield


@pytest.fixture
def progress_on(core_only):
    with config.temp('progress', True):
        plugins.sync_optional_builtins()
        yield
    plugins.sync_optional_builtins()


def status(name):
    return {p.name: p for p in plugins.list_plugins()}[name]


def test_progress_is_off_by_default_and_then_tasks_skip_the_per_task_hook(core_only):
    info = status(PROGRESS)
    assert (info.status, info.builtin) == ('not selected', True)
    assert 'LAZYPLUG_PROGRESS=1' in info.error
    assert plugins.get_plugin_manager().get_plugin(PROGRESS) is None
    assert not host.flags.run_task and not host.flags.task_progress


def test_turning_progress_on_and_off_registers_and_unregisters_the_plugin(core_only):
    plugins.get_plugin_manager()
    with config.temp('progress', True):
        plugins.sync_optional_builtins()
        info = status(PROGRESS)
        assert info.status == 'loaded'
        assert set(info.hooks) == {'lazyplug_run_phase', 'lazyplug_run_task', 'lazyplug_task_progress'}
        assert host.flags.run_task and host.flags.task_progress
    plugins.sync_optional_builtins()
    assert status(PROGRESS).status == 'not selected'
    assert not host.flags.run_task


def test_a_manager_made_while_progress_is_on_registers_it(fresh_plugins):
    with config.temp('progress', True), config.temp('disable_plugin_autoload', True):
        assert status(PROGRESS).status == 'loaded'


def test_progress_writes_a_line_per_phase_and_per_task_off_a_terminal(progress_on, capsys):
    app = lazyplug.ActionModule(Worker('a'), Worker('b'))
    app.submodules[0].evalset([1, 2, 3])
    app.update()
    err = capsys.readouterr().err.splitlines()
    assert err[0] == 'lazyplug: train: 2 tasks'
    assert err[1].startswith('lazyplug: train: done #0 Worker(a).train in ')
    assert err[2].startswith('lazyplug: train: done #0 Worker(b).train in ')
    assert err[3].startswith('lazyplug: train: 2 tasks done in ')
    assert err[4] == 'lazyplug: eval: 1 task'
    assert err[5].startswith('lazyplug: eval: done #0 Worker(a) in ')
    assert err[5].endswith(' s (3/3 items)')
    assert err[6].startswith('lazyplug: eval: 1 task done in ')
    assert len(err) == 7  # phases without tasks (server, post) show nothing


def test_progress_shows_a_failed_task_and_phase(progress_on, capsys):
    app = lazyplug.ActionModule(Worker('bad', fail=True))
    with pytest.raises(lazyplug.errors.TaskFailedError):
        app.update(mode='train')
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith('lazyplug: train: failed #0 Worker(bad).train in ')
    assert err[2].startswith('lazyplug: train: 1 task failed after ')


def test_progress_follows_tasks_run_by_several_workers(progress_on, capsys):
    app = lazyplug.ActionModule(*[Worker(f'w{i}') for i in range(6)])
    app.update(mode='train', workers=3)
    err = capsys.readouterr().err.splitlines()
    assert sum(' done #0 Worker(w' in line and ').train in ' in line for line in err) == 6
    assert err[-1].startswith('lazyplug: train: 6 tasks done in ')


def test_lazyplug_task_progress_reports_every_evaluation_item(core_only):
    seen = []

    class Follow:
        @hookimpl
        def lazyplug_task_progress(self, module, phase, done, total):
            seen.append((module.name, phase, done, total))

    plugins.register(Follow())
    worker = Worker('counted')
    worker.evalset(list(range(5)))
    worker.eval()
    assert worker.eval_result == [0, 2, 4, 6, 8]
    assert seen[0] == ('counted', 'eval', 0, 5)
    assert sorted(done for _, _, done, _ in seen) == [0, 1, 2, 3, 4, 5]
    assert {(name, phase, total) for name, phase, _, total in seen} == {('counted', 'eval', 5)}


def test_evaluation_reports_nothing_when_no_plugin_follows_it(core_only, monkeypatch):
    calls = []
    monkeypatch.setattr(_hookcalls, 'task_progress', lambda *a: calls.append(a))
    worker = Worker('quiet')
    worker.evalset([1, 2])
    worker.eval()
    assert worker.eval_result == [2, 4] and calls == []


def test_the_live_display_draws_a_bar_per_phase_and_items_per_task():
    from lazyplug.builtin.progress import _LiveDisplay
    live = _LiveDisplay()
    live.start()
    try:
        outer = live.phase_started('deploy', 1)
        inner = live.phase_started('deploy', 2)  # an update run by a task of another
        live.task_started((1, 'eval'), '#0 evaluation of M')
        live.items((1, 'eval'), 3, 5)
        rows = {t.description.strip(): t for t in live._progress.tasks}
        assert (rows['#0 evaluation of M'].completed, rows['#0 evaluation of M'].total) == (3, 5)
        live.task_ended((1, 'eval'), '#0 evaluation of M', 0.1, None, inner, (3, 5))
        assert [(t.description, t.completed) for t in live._progress.tasks] == [
            ('[bold]deploy[/bold]', 0), ('[bold]deploy[/bold]', 1)]
        live.phase_ended(inner, 'deploy', 2, 0.2, RuntimeError('x'))
        live.phase_ended(outer, 'deploy', 1, 0.3, None)
        assert [t.description for t in live._progress.tasks] == [
            '[bold]deploy[/bold] done', '[bold]deploy[/bold] [red]failed[/red]']
    finally:
        live.stop()


def test_item_counts_keep_the_most_reported_as_reports_come_out_of_order():
    from lazyplug.builtin.progress import _SharedDisplay
    shared = _SharedDisplay()
    assert shared.count((1, 'eval'), 3, 5) == 3
    assert shared.count((1, 'eval'), 2, 5) == 3
    assert shared.count((1, 'eval'), 5, 5) == 5


def test_progress_of_an_update_run_inside_a_task_of_another(progress_on, capsys):
    inner = lazyplug.ActionModule(Worker('inner'))

    class Outer(ModuleBase):
        def _get_deploy_tasks(self):
            return lambda: inner.update(mode='train')

    Outer().update(mode='deploy')
    err = [line.split(' in ')[0] for line in capsys.readouterr().err.splitlines()]
    assert err == [
        'lazyplug: deploy: 1 task',
        'lazyplug: train: 1 task',
        'lazyplug: train: done #0 Worker(inner).train',
        'lazyplug: train: 1 task done',
        'lazyplug: deploy: done #0 <lambda> of Outer',
        'lazyplug: deploy: 1 task done',
    ]
