"""``lazyplug logs ID``: the end of a service's log file, the errors its module raised with their tracebacks.

* A running service's log is the one its registry entry names (``lazyplug ps`` shows it).
* A stopped service's log is found in ``<home>/logs``, where each file is named after its service's id.
"""

from __future__ import annotations

import os

import click

from .options import registry_option, traceback_option
from .registries import existing_registry, find_service

__all__ = ['logs_command']


def _stopped_logs(ident: str) -> list[str]:
    """The log files in ``<home>/logs`` of services whose id starts with ``ident``."""
    from ..config import config
    from ..serve.log import log_path
    directory = os.path.dirname(log_path(config['home'], ident))
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    if f'{ident}.log' in names:  # the whole id: 'svc' is not the beginning of 'svc.v2' then
        return [os.path.join(directory, f'{ident}.log')]
    return sorted(os.path.join(directory, name) for name in names if name.startswith(ident) and name.endswith('.log'))


@click.command('logs')
@traceback_option
@click.argument('ident', metavar='ID')
@click.option('-n', '--lines', type=click.IntRange(min=1), default=40, show_default=True,
              help='How many of the last lines to print.')
@registry_option
def logs_command(ident: str, lines: int, registry: str | None) -> None:
    """Print the end of the log of the service ID: the errors its module raised, with their tracebacks.

    ID is the id of a running service (or a unique beginning of it; see `lazyplug ps`), or of one
    that ran on this machine.

    \b
    Exit codes: 0 printed (or nothing logged yet: said on standard error); 2 no such service.
    """
    from ..serve.log import tail
    found = existing_registry(registry)
    running = bool(ident.strip()) and found is not None and any(e.module_id.startswith(ident) for e in found.list())
    stopped = [] if running or not ident.strip() else _stopped_logs(ident)
    if len(stopped) > 1:
        raise click.BadParameter(f'no running service has an id starting with {ident!r}, and the names of '
                                 f'{len(stopped)} log files do: {", ".join(map(os.path.basename, stopped))}; '
                                 'give more of the id', param_hint="'ID'")
    if stopped:
        path, what = stopped[0], os.path.basename(stopped[0])[:-len('.log')]
    else:
        entry = find_service(found, ident)
        if not entry.log:
            raise click.BadParameter(f'{entry.name} ({entry.module_id[:12]}) was deployed by a lazyplug that kept '
                                     'no log file', param_hint="'ID'")
        path, what = entry.log, f'{entry.name} ({entry.module_id[:12]})'
    shown = tail(path, lines)
    if not shown:
        click.echo(f'{what} has logged nothing yet (its log file: {path})', err=True)
    for line in shown:
        click.echo(line)
