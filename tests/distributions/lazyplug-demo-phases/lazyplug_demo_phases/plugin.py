"""Wrappers around the lifecycle: time every update, phase and task; skip the tasks of modules
with ``demo_skip = True``; add ``module.demo_extra`` as a task in ``module.demo_extra_phase``.

It is installed beside every test, so everything beyond recording is opt-in per module.
"""

import time

from lazyplug import hookimpl

RECORDS = []  # ('update' | 'phase' | 'task', what, seconds)
SKIPPED = []  # (phase, module) of the tasks skipped


def _timed(kind, what):
    start = time.perf_counter()
    try:
        result = yield
    finally:
        RECORDS.append((kind, what, time.perf_counter() - start))
    return result


@hookimpl(wrapper=True)
def lazyplug_update(root, modes, plan):
    return (yield from _timed('update', type(root).__name__))


@hookimpl(wrapper=True)
def lazyplug_run_phase(root, phase, tasks):
    return (yield from _timed('phase', phase))


@hookimpl(wrapper=True)
def lazyplug_run_task(module, phase, task):
    return (yield from _timed('task', (phase, type(module).__name__)))


@hookimpl(tryfirst=True, specname='lazyplug_run_task')
def skip_marked(module, phase, task):
    if getattr(module, 'demo_skip', False):
        SKIPPED.append((phase, module))
        return 'skipped'  # not None: the task counts as handled, and task() is never called
    return None


@hookimpl
def lazyplug_collect_tasks(module, phase):
    extra = getattr(module, 'demo_extra', None)
    if extra is not None and phase == getattr(module, 'demo_extra_phase', 'deploy'):
        return extra
    return None
