"""Every hook of lazyplug, documented: the reference for plugin authors.

A plugin is a module or object whose functions are marked with ``@lazyplug.hookimpl`` and named
after one of the specifications below; a distribution declares it in the ``lazyplug`` entry-point
group (``[project.entry-points.lazyplug] myplugin = "mypkg.plugin"``). Arguments are passed by
keyword, and an implementation may accept any subset of them.

The core's own behaviour is implemented with these same hooks by built-in plugins
(``lazyplug.builtin``), registered ``trylast``. A plugin therefore changes behaviour in one of
two ways:

* **wrap** it: ``@hookimpl(wrapper=True)`` with a generator that does something, ``yield``\\ s
  (receiving the inner result, or the exception raised into it) and returns the result. This is
  how timing, progress, logging, retries and tracing are written.
* **replace** it: for a ``firstresult`` hook, an implementation that returns a value other than
  ``None`` ends the call, so the built-in implementation (and anything after it) does not run.

``lazyplug.builtin.progress`` (the progress display of ``lazyplug update``) is a complete example
of a plugin wrapping ``lazyplug_run_phase`` and ``lazyplug_run_task``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .lifecycle import Plan, Task, TaskList
    from .module.base import ModuleBase

hookspec = pluggy.HookspecMarker('lazyplug')

# -- the lifecycle of update() -----------------------------------------------------------------


@hookspec(firstresult=True)
def lazyplug_update(root: ModuleBase, modes: tuple[str, ...], plan: Plan) -> Any:
    """Run one ``update()`` (also ``start()``, ``eval()``, ``update_server()``) of ``root``'s tree.

    Called once per update, after the tree has been planned.

    :param root: the module ``update`` was called on.
    :param modes: the requested modes, in lifecycle order, out of ``('train', 'server', 'eval')``.
    :param plan: the :class:`~lazyplug.lifecycle.Plan`: ``plan.modules`` (post-order),
        ``plan.workers``, ``plan.recursive``, and ``plan.tasks(phase)`` to collect a phase's tasks.
    :return: not ``None`` once the update has run. The built-in implementation runs each mode's
        phase and then ``post`` through :func:`lazyplug_run_phase`, and returns ``True``. If the
        call raises, the core stops what the update deployed (unless ``keep_on_failure``).
    """


@hookspec(firstresult=True)
def lazyplug_run_phase(root: ModuleBase, phase: str, tasks: TaskList) -> Any:
    """Run the tasks of one phase of an update.

    Called once per phase: ``'train'``, ``'server'`` (deploy), ``'eval'``, then ``'post'``.

    :param root: the module ``update`` was called on.
    :param phase: the phase's name.
    :param tasks: a :class:`~lazyplug.lifecycle.TaskList` (a list of
        :class:`~lazyplug.lifecycle.Task`, in plan order) with ``tasks.workers``; a wrapper may
        remove tasks from it before yielding to skip them.
    :return: not ``None`` once the phase has run. The built-in implementation runs every task
        through :func:`lazyplug_run_task` (one by one, or ``tasks.workers`` at once) and raises
        :class:`~lazyplug.errors.TaskFailedError` for the first task that fails.
    """


@hookspec(firstresult=True)
def lazyplug_run_task(module: ModuleBase, phase: str, task: Task) -> Any:
    """Run one task.

    Called once per task, possibly from several threads at once when ``workers > 1``.

    :param module: the module the task belongs to.
    :param phase: the phase's name.
    :param task: the :class:`~lazyplug.lifecycle.Task`; calling ``task()`` runs it.
    :return: not ``None`` once the task has been handled: run, or deliberately skipped by a
        plugin that returns a value without calling ``task()``. The built-in implementation calls
        ``task()`` and returns ``True``. An exception fails the update.
    """


@hookspec
def lazyplug_collect_tasks(module: ModuleBase, phase: str) -> Any:
    """Add tasks to a module in a phase.

    Called for every planned module in every phase of an update, after the module's own task
    getter, but only when some plugin implements it.

    :param module: the module whose tasks are being collected.
    :param phase: ``'train'``, ``'server'``, ``'eval'`` or ``'post'``.
    :return: ``None``, a callable taking no arguments, or a list of them; they run after the
        module's own tasks of that phase.
    """


@hookspec
def lazyplug_task_progress(module: ModuleBase, phase: str, done: int, total: int) -> None:
    """Report how far a task that works through items has got (a module's evaluation, for one).

    Called by the evaluation task of a module with an evalset: once with ``done=0`` before the
    first item, then once after each item, from the thread that ran it. Items run concurrently:
    calls come from several threads and may arrive out of order, so keep the largest ``done``
    seen; one call has ``done == total``. Called only while some plugin implements it: otherwise the
    items pay nothing for it. Plugins with long tasks of their own may call it too, through
    ``lazyplug.plugins.get_plugin_manager().hook``.

    :param module: the module whose task is working.
    :param phase: the phase's name (``'eval'`` for evaluation).
    :param done: how many items are finished.
    :param total: how many items there are.
    :return: nothing; the return value is ignored.
    """


# -- calls --------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def lazyplug_module_call(module: ModuleBase, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call a module.

    Called for every call of every module, but only while some plugin other than the built-in
    one implements it: otherwise a module call pays nothing for hooks.

    :param module: the module being called.
    :param args: the positional arguments (a leading ``kwargs`` value already merged into ``kwargs``).
    :param kwargs: the keyword arguments.
    :return: the call's result. The built-in implementation runs the module's own call hooks and
        ``forward``. A wrapper sees the result (``result = yield``) or the exception; a non-wrapper
        returning anything but ``None`` replaces the call.
    """


# -- deployment ---------------------------------------------------------------------------------


@hookspec(firstresult=True)
def lazyplug_launcher(name: str, options: dict[str, Any]) -> Any:
    """Make the launcher called ``name``, which runs deployed modules somewhere.

    Called when a ServerModule deploys, with the launcher it names or the ``launcher`` setting.

    :param name: the launcher's name (``'local'``, ``'thread'``; ``'ray'`` from lazyplug-ray).
    :param options: the launcher options given by the user.
    :return: a launcher object, or ``None`` when this plugin does not provide ``name``.
    """


@hookspec(firstresult=True)
def lazyplug_service_registry(url: str) -> Any:
    """Make the service registry for ``url``, where deployed modules publish their URLs.

    Called when a registry is first needed, with the ``registry`` setting or an explicit URL.

    :param url: ``memory://``, ``sqlite:///path``, or a scheme a plugin provides (``redis://``).
    :return: a registry object, or ``None`` when this plugin does not handle the URL's scheme.
    """


# -- caching ------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def lazyplug_cache_store(name: str) -> Any:
    """Make the store of the module result cache called ``name``.

    Called once per process and strategy, when a module with ``use_cache()`` is first called;
    ``name`` is the ``cache_strategy`` setting (``LAZYPLUG_CACHE_STRATEGY``).

    :param name: ``'memory'``, ``'sqlite'``, ``'file'`` (built in), or a name a plugin provides.
    :return: an object with ``get(key)`` (the value, or ``lazyplug.cache.MISS``),
        ``put(key, value)`` and ``clear()``, or ``None`` when this plugin does not provide ``name``.
        ``get`` must treat an entry it cannot read back as a miss.
    """


# -- the command line ---------------------------------------------------------------------------


@hookspec
def lazyplug_register_commands(cli: Any) -> None:
    """Add subcommands to the ``lazyplug`` command line.

    Called once when the command line starts.

    :param cli: the top-level ``click.Group``; call ``cli.add_command(...)`` on it.
    :return: nothing; the return value is ignored.
    """
