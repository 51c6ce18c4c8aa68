"""Every hook of lazyplug: the reference for plugin authors.

A plugin is a module or object with functions marked ``@lazyplug.hookimpl``, each named after a
specification below. A distribution declares it in the ``lazyplug`` entry-point group::

    [project.entry-points.lazyplug]
    myplugin = "mypkg.plugin"

Arguments are passed by keyword. An implementation may accept any subset of them.

The core's own behaviour is built-in plugins (``lazyplug.builtin``) using these same hooks,
registered ``trylast``. A plugin changes it in one of two ways:

* **Wrap** it: ``@hookimpl(wrapper=True)`` on a generator that does something, ``yield``\\ s
  (receiving the inner result, or the exception raised into it) and returns the result. Timing,
  progress, logging, retries and tracing are written this way.
* **Replace** it: in a ``firstresult`` hook, an implementation returning anything but ``None``
  ends the call. The built-in implementation does not run.

The register hooks name launchers, registry schemes and cache strategies: each calls
``register(name, factory)``. The types they deal in are in :mod:`lazyplug.interfaces`.

``lazyplug.builtin.progress`` is a complete example: it wraps ``lazyplug_run_phase`` and
``lazyplug_run_task``. The ``lazyplug-otel`` distribution (``plugins/lazyplug-otel``) wraps
every lifecycle and call hook to trace an application with OpenTelemetry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import click

    from .flow.base import FlowBase
    from .interfaces import Register
    from .lifecycle import Plan, Task, TaskList
    from .module.base import ModuleBase

hookspec = pluggy.HookspecMarker('lazyplug')

# -- the lifecycle of update() -----------------------------------------------------------------


@hookspec(firstresult=True)
def lazyplug_update(root: ModuleBase, modes: tuple[str, ...], plan: Plan) -> bool | None:
    """Run one ``update()`` of ``root``'s tree (also ``start()``, ``eval()``, ``update_server()``).

    Called once per update, after the tree is planned.

    :param root: the module ``update`` was called on.
    :param modes: the requested modes in lifecycle order, out of ``('train', 'deploy', 'eval')``.
    :param plan: the :class:`~lazyplug.lifecycle.Plan`. ``plan.modules`` lists the modules
        (post-order); ``plan.tasks(phase)`` collects a phase's tasks.
    :return: not ``None`` once the update has run. The built-in implementation runs each mode's
        phase, then ``post``, through :func:`lazyplug_run_phase`, and returns ``True``.
        If the call raises, the core stops what the update deployed (unless ``keep_on_failure``).
    """


@hookspec(firstresult=True)
def lazyplug_run_phase(root: ModuleBase, phase: str, tasks: TaskList) -> bool | None:
    """Run the tasks of one phase of an update.

    Called once per phase: ``'train'``, ``'deploy'``, ``'eval'``, then ``'post'``.

    :param root: the module ``update`` was called on.
    :param phase: the phase's name.
    :param tasks: a :class:`~lazyplug.lifecycle.TaskList` of :class:`~lazyplug.lifecycle.Task`,
        in plan order, with ``tasks.workers``. A wrapper may remove tasks before yielding, to
        skip them.
    :return: not ``None`` once the phase has run. The built-in implementation runs every task
        through :func:`lazyplug_run_task` (one by one, or ``tasks.workers`` at once). The first
        task to fail raises :class:`~lazyplug.errors.TaskFailedError`.
    """


@hookspec(firstresult=True)
def lazyplug_run_task(module: ModuleBase, phase: str, task: Task) -> bool | None:
    """Run one task.

    Called once per task. With ``workers > 1``, from several threads at once.

    :param module: the module the task belongs to.
    :param phase: the phase's name.
    :param task: the :class:`~lazyplug.lifecycle.Task`. Calling ``task()`` runs it.
    :return: not ``None`` once the task is handled: run, or skipped on purpose (a value
        returned without calling ``task()``). The built-in implementation calls ``task()`` and
        returns ``True``. An exception fails the update.
    """


@hookspec
def lazyplug_collect_tasks(module: ModuleBase, phase: str
                           ) -> Callable[[], object] | Sequence[Callable[[], object]] | None:
    """Add tasks to a module in a phase.

    Called for every planned module in every phase, after the module's own task getter. Called
    only while some plugin implements it.

    :param module: the module whose tasks are being collected.
    :param phase: ``'train'``, ``'deploy'``, ``'eval'`` or ``'post'``.
    :return: ``None``, a callable taking no arguments, or a list of them. They run after the
        module's own tasks of that phase.
    """


@hookspec
def lazyplug_task_progress(module: ModuleBase, phase: str, done: int, total: int) -> None:
    """Report how far a task working through items has got (an evaluation, say).

    Called by the evaluation of a module with an evalset: once with ``done=0`` before the first
    item, then after each item, from the thread that ran it. Called only while some plugin
    implements it. Facts for implementations:

    * Calls come from several threads and may arrive out of order: keep the largest ``done``.
    * One call has ``done == total``.
    * Plugins with long tasks may call it too, through ``lazyplug.plugins.get_plugin_manager().hook``.

    :param module: the module whose task is working.
    :param phase: the phase's name (``'eval'`` for an evaluation).
    :param done: how many items are finished.
    :param total: how many items there are.
    :return: nothing; the return value is ignored.
    """


# -- calls --------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def lazyplug_module_call(module: ModuleBase, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call a module.

    Called for every call of every module, while some plugin other than the built-in one
    implements it. Otherwise a module call pays nothing for hooks.

    :param module: the module being called.
    :param args: the positional arguments. A leading ``kwargs`` value is already merged into ``kwargs``.
    :param kwargs: the keyword arguments.
    :return: the call's result. The built-in implementation runs the module's own call hooks and
        ``forward``. A wrapper sees the result (``result = yield``) or the exception. A
        non-wrapper returning anything but ``None`` replaces the call.
    """


@hookspec(firstresult=True)
def lazyplug_flow_call(flow: FlowBase, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call a flow: a pipeline, a parallel, a switch, a loop, a graph...

    Called for every call of every flow, nested flows included, while some plugin other than the
    built-in one implements it. Otherwise a flow call pays nothing for hooks. Facts for
    implementations:

    * The items of a parallel flow (and of ``warp``, ``diverter``) run on other threads, each in
      a copy of the caller's ``contextvars`` context: what a wrapper sets in a context variable
      before its ``yield`` is seen by every item.
    * A module item's call is a :func:`lazyplug_module_call` inside this one.

    :param flow: the flow being called.
    :param args: the positional arguments, as the caller passed them.
    :param kwargs: the keyword arguments.
    :return: the flow's output. The built-in implementation runs the flow. A wrapper sees the
        output (``output = yield``) or the exception. A non-wrapper returning anything but
        ``None`` replaces the call.
    """


# -- served modules -----------------------------------------------------------------------------


@hookspec(firstresult=True)
def lazyplug_service_call(service: str, method: str | None, headers: dict[str, str],
                          call: Callable[[], Any]) -> Any:
    """Send one call to a served module (a ServerModule or UrlModule call, or ``_call``).

    Called in the caller's thread and context, once per call, before the request is sent.
    Called only while some plugin other than the built-in one implements it.

    :param service: what the call goes to, as error messages name it
        (``'Classifier served by ServerModule'``).
    :param method: the method called (``sm._call('name')``), or ``None`` for a call of the
        served module itself.
    :param headers: HTTP headers to send with the request, empty at first. A wrapper adds
        entries before its ``yield`` (a trace context's ``traceparent``, say); the server's
        :func:`lazyplug_serve_call` receives them. Names must be HTTP tokens, not one lazyplug
        sends itself; values are Latin-1 text without control characters.
    :param call: sends the request with ``headers`` as they are when it is called.
    :return: the call's result. The built-in implementation sends the request with ``headers``
        and returns the reply's result (or raises its error). A wrapper sees the result or the
        exception. For a streamed call (``sm.stream(x)``) ``call`` returns once the reply has
        begun, with what the client reads the deltas from: a wrapper sees the sending, and an
        error reply, but not the deltas.
    """


@hookspec(firstresult=True)
def lazyplug_serve_call(service: str, target: Any, method: str | None, headers: Mapping[str, str],
                        call: Callable[[], Any]) -> Any:
    """Run one call a server received, in the server.

    Called in the server's process, in the thread that runs the call, once per call or method
    call that passed the server's checks (authentication, size, a well-formed body). Called only
    while some plugin other than the built-in one implements it. The request's ``globals`` are
    in force already.

    :param service: the served module's name in messages (the client's ``service``).
    :param target: the served module, flow or callable.
    :param method: the method called, or ``None`` for a call of ``target`` itself.
    :param headers: the request's HTTP headers: lowercase names, Latin-1 values, repeated
        headers joined with ``,``. The ``security-key`` header is left out. They come from the
        network: check a value before trusting it.
    :param call: runs the call (``pre``, ``target``, ``post``) and returns its result.
    :return: the call's result, which the server sends back. The built-in implementation
        returns ``call()``. An exception becomes the error reply.
    """


# -- what plugins provide by name ---------------------------------------------------------------


@hookspec
def lazyplug_register_launchers(register: Register) -> None:
    """Name the launchers this plugin provides: where ServerModules run.

    Called once per set of plugins, before the first launcher is made or listed.

    :param register: call ``register(name, factory)`` per launcher. ``factory(**options)``
        returns a :class:`~lazyplug.interfaces.Launcher` that starts nothing until it launches.
        Built in: ``local``, ``thread``.
    :return: nothing; the return value is ignored.
    """


@hookspec
def lazyplug_register_service_registries(register: Register) -> None:
    """Name the service registries this plugin provides, by URL scheme.

    Called once per set of plugins, before the first registry is made or listed.

    :param register: call ``register(scheme, factory)`` per scheme (``'redis'`` for ``redis://``
        URLs). ``factory(url)`` returns a :class:`~lazyplug.interfaces.ServiceRegistry`. Built in:
        ``memory``, ``sqlite``.
    :return: nothing; the return value is ignored.
    """


@hookspec
def lazyplug_register_cache_stores(register: Register) -> None:
    """Name the stores of the module result cache this plugin provides (cache strategies).

    Called once per set of plugins, before the first store is made or listed. A store is made
    once per process and strategy, when a module with ``use_cache()`` is first called.

    :param register: call ``register(strategy, factory)`` per strategy. ``factory()`` returns a
        :class:`~lazyplug.interfaces.CacheStore`. Built in: ``memory``, ``sqlite``, ``file``.
    :return: nothing; the return value is ignored.
    """


# -- the command line ---------------------------------------------------------------------------


@hookspec
def lazyplug_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``lazyplug`` command line.

    Called once when the command line starts. A command name already taken is refused with a warning.

    :param cli: the top-level ``click.Group``. Call ``cli.add_command(...)`` on it.
    :return: nothing; the return value is ignored.
    """
