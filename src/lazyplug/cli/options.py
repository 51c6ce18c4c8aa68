"""Options several ``lazyplug`` commands share."""

from __future__ import annotations

import click

from ..config import config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['registry_option', 'run_options', 'traceback_option']


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        config['debug'] = True


traceback_option = click.option('--traceback', is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
                                help='Print the traceback of a failure (also: LAZYPLUG_DEBUG=1).')
"""``--traceback``, accepted by the group and by every command (before or after the command's name)."""

_REGISTRY_HELP = ('memory://, sqlite:///path, or a scheme a plugin adds (e.g. redis://; see `lazyplug plugins`). '
                  'Default: LAZYPLUG_REGISTRY, else a SQLite file in LAZYPLUG_HOME.')

registry_option = click.option('--registry', metavar='URL', default=None,
                               help=f'The service registry: {_REGISTRY_HELP}')
"""``--registry URL``: the service registry a command reads."""


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``update`` and ``eval`` share: where and how the lifecycle runs."""
    for option in reversed([
        click.option('--workers', type=click.IntRange(min=1), default=None,
                     help='Tasks of a phase run at once (default: the workers setting, 1: one by one, in order).'),
        click.option('--launcher', metavar='NAME', default=None,
                     help='Where ServerModules that name no launcher run: local, thread, or one a plugin adds '
                          '(e.g. ray; see `lazyplug plugins`). Sets the launcher setting for this run.'),
        click.option('--registry', metavar='URL', default=None,
                     help=f'The service registry deployed URLs are published in: {_REGISTRY_HELP}'),
        click.option('--progress/--no-progress', default=None,
                     help='Show the progress of each phase and task on standard error (default: when standard '
                          'error is a terminal, or LAZYPLUG_PROGRESS=1).'),
    ]):
        command = option(command)
    return command
