"""The hook plugin ``otel``: a span around every update, phase, task, module call and flow call,
and the trace context carried to served modules and back into their spans.

Every hook is a wrapper (``wrapper=True``) that runs what it wraps in a span
(:func:`lazyplug_otel.tracing.in_span`); the core's own behaviour is unchanged. Spans nest as
the calls do: a flow's items under the flow, a parallel flow's items (run on other threads, in
copies of the caller's context) as siblings, an update's phases under it and their tasks under
them. A call of a served module is a client span in the caller; the server continues the
caller's trace (W3C ``traceparent``) with a server span around the served module's own spans.

With tracing off (the ``otel`` setting, or ``OTEL_SDK_DISABLED=true``, when the plugins load)
the plugin registers only ``lazyplug_register_commands``: no call pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lazyplug import hookimpl

from . import tracing
from .settings import tracing_on
from .tracing import flow_attributes, in_span, module_attributes, title

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping

    import click

__all__ = ['lazyplug_flow_call', 'lazyplug_module_call', 'lazyplug_register_commands', 'lazyplug_run_phase',
           'lazyplug_run_task', 'lazyplug_serve_call', 'lazyplug_service_call', 'lazyplug_update']

_VERBS = {('train', 'deploy', 'eval'): 'update', ('deploy',): 'start', ('eval',): 'eval'}


@hookimpl(wrapper=True)
def lazyplug_update(root: Any, modes: tuple[str, ...], plan: Any) -> Generator[None, Any, Any]:
    """``update ActionModule(app)`` (``start ...`` for deploy only, ``eval ...`` for eval only)."""
    attributes = module_attributes(root)
    attributes['lazyplug.modes'] = list(modes)
    attributes['lazyplug.modules'] = len(plan.modules)
    return (yield from in_span(f'{_VERBS.get(modes, "update")} {title(root)}', attributes))


@hookimpl(wrapper=True)
def lazyplug_run_phase(phase: str, tasks: Any) -> Generator[None, Any, Any]:
    """``train``, ``deploy``, ``eval``, ``post``: one span per phase, with its number of tasks."""
    attributes = {'lazyplug.phase': phase, 'lazyplug.tasks': len(tasks), 'lazyplug.workers': tasks.workers}
    return (yield from in_span(phase, attributes))


@hookimpl(wrapper=True)
def lazyplug_run_task(module: Any, phase: str, task: Any) -> Generator[None, Any, Any]:
    """``train Classifier``: a phase's name and what the task does."""
    attributes = module_attributes(module)
    attributes['lazyplug.phase'] = phase
    attributes['lazyplug.task'] = task.name
    return (yield from in_span(f'{phase} {task.label}', attributes))


@hookimpl(wrapper=True)
def lazyplug_module_call(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Generator[None, Any, Any]:
    """``Classifier(classifier)``: the module's type and name, its input and output."""
    return (yield from in_span(title(module), module_attributes(module), args, kwargs))


@hookimpl(wrapper=True)
def lazyplug_flow_call(flow: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Generator[None, Any, Any]:
    """``Pipeline``, ``Parallel``...: the flow's type, its input and output."""
    return (yield from in_span(type(flow).__name__, flow_attributes(flow), args, kwargs))


@hookimpl(wrapper=True)
def lazyplug_service_call(service: str, method: str | None, headers: dict[str, str]) -> Generator[None, Any, Any]:
    """``POST /call`` (a client span): the request carries its context to the server."""
    path = '/call' if method is None else '/method'
    attributes = {'http.request.method': 'POST', 'url.path': path, 'lazyplug.service': service}
    if method is not None:
        attributes['lazyplug.method'] = method
    return (yield from in_span(f'POST {path}', attributes, kind='client', carrier=headers))


@hookimpl(wrapper=True)
def lazyplug_serve_call(service: str, target: Any, method: str | None,
                        headers: Mapping[str, str]) -> Generator[None, Any, Any]:
    """``serve Classifier`` (a server span), in the trace of the caller that sent the call."""
    attributes = {'lazyplug.service': service}
    if method is not None:
        attributes['lazyplug.method'] = method
    name = f'serve {title(target)}' + (f'.{method}' if method else '')
    return (yield from in_span(name, attributes, kind='server', parent=tracing.extract(headers)))


@hookimpl
def lazyplug_register_commands(cli: click.Group) -> None:
    """``lazyplug trace``: the stored traces, listed, or one drawn as a tree."""
    from .cli import trace_command
    cli.add_command(trace_command)


def __dir__() -> list[str]:
    # pluggy registers the hooks dir() lists: with tracing off, the command alone, so that calls
    # and updates skip the hooks entirely (lazyplug's fast paths)
    names = sorted(globals())
    if tracing_on():
        return names
    return [name for name in names if not name.startswith('lazyplug_') or name == 'lazyplug_register_commands']
