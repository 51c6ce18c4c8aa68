"""``lazyplug ps``, ``lazyplug stop`` and ``lazyplug call``: the services in the service registry.

* The registry is the ``registry`` setting: ``--registry URL`` or ``LAZYPLUG_REGISTRY``, by
  default a SQLite file in ``LAZYPLUG_HOME``. So these see what ``lazyplug update --serve`` (or
  any program) deployed in another terminal.
* A service is named by its module id, or any unique beginning of it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time

import click

from ..errors import CallTimeoutError, LazyplugError
from ..services.liveness import alive, runs_here
from .errors import Failure, failure
from .options import registry_option, traceback_option
from .output import echo_json, table
from .registries import existing_registry, find_service, no_registry_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..interfaces import ServiceRegistry
    from ..services import ServiceEntry

__all__ = ['call_command', 'ps_command', 'stop_command']

def _age(started: float) -> str:
    seconds = max(0, int(time.time() - started))
    if seconds < 60:
        return f'{seconds}s'
    if seconds < 3600:
        return f'{seconds // 60}m{seconds % 60:02d}s'
    if seconds < 86400:
        return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'
    return f'{seconds // 86400}d{seconds % 86400 // 3600}h'


# -- ps -------------------------------------------------------------------------------------------

@click.command('ps')
@traceback_option
@registry_option
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
def ps_command(registry: str | None, as_json: bool) -> None:
    """List the running services of the service registry (oldest first), with their log files."""
    found = existing_registry(registry)
    entries = [] if found is None else found.list()
    if as_json:
        echo_json([e.to_dict() for e in entries])
        return
    if not entries:
        click.echo(f'no services are running (registry: {no_registry_file() if found is None else found.url})')
        return
    table(('ID', 'NAME', 'URLS', 'PIDS', 'OWNER', 'UP', 'LOG'),
          [(e.module_id[:12], e.name, ' '.join(e.urls), ' '.join(map(str, e.pids)), e.owner_pid, _age(e.started),
            _shown_path(e.log)) for e in entries])


def _shown_path(path: str) -> str:
    """``path`` with the user's home directory written ``~``; '-' for none."""
    if not path:
        return '-'
    home = os.path.expanduser('~')
    return '~' + path[len(home):] if home != '/' and path.startswith(home + os.sep) else path


# -- stop -----------------------------------------------------------------------------------------

def _live(pids: list[int]) -> list[int]:
    return [pid for pid in pids if alive(pid)]


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    left = _live(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _live(left)
    return left


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        if os.getpgid(pid) == pid:  # a server started in a process group of its own: end the group
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_service(registry: ServiceRegistry, entry: ServiceEntry, timeout: float) -> tuple[bool, str]:
    """Stop ``entry``'s service; whether it is known to have stopped, and what happened.

    * The entry is removed from the registry first. A ``lazyplug update --serve`` that deployed
      it notices, stops it cleanly and exits.
    * On this machine, serving processes still running ``timeout`` seconds later get SIGTERM,
      then SIGKILL after as long again. The owning process itself is never signalled.
    * On another machine, the owner is left to stop it.
    """
    what = f'{entry.name} ({entry.module_id[:12]})'
    registry.remove(entry.module_id)
    if not entry.node:
        return True, (f'removed {what} from the registry; its entry does not say which machine it runs on '
                      f'(written by an older lazyplug), so no process was signalled: its deploying process '
                      f'{entry.owner_pid} stops it if it watches the registry')
    if not runs_here(entry):
        return True, (f'removed {what} from the registry; it runs on another machine ({", ".join(entry.urls)}), '
                      f'where the process that deployed it stops it')
    spare = {os.getpid(), entry.owner_pid}
    left = _wait_gone(entry.pids, timeout)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        targets = [pid for pid in left if pid not in spare]
        if not targets:
            break
        for pid in targets:
            _signal(pid, sig)
        left = _wait_gone(left, timeout)
    if left:
        return False, (f'{what}: removed from the registry, but processes {left} still run (process '
                       f'{entry.owner_pid} deployed it in its own process and serves it until it exits)')
    return True, f'stopped {what}'


@click.command('stop')
@traceback_option
@click.argument('ident', metavar='[ID]', required=False)
@click.option('--all', 'stop_all', is_flag=True, help='Stop every service of the registry.')
@click.option('--timeout', type=click.FloatRange(min=0), default=10.0, show_default=True,
              help='Seconds to wait for the deploying process to stop a service before its processes are '
                   'signalled.')
@registry_option
def stop_command(ident: str | None, stop_all: bool, timeout: float, registry: str | None) -> None:
    """Stop the service ID (a unique beginning of its id is enough; see `lazyplug ps`), or --all.

    \b
    Exit codes: 0 stopped; 1 some process would not stop; 2 no such service, or neither / both
    of ID and --all.
    """
    if (ident is None) == (not stop_all):
        raise click.UsageError('give the ID of a service (see `lazyplug ps`) or --all, not both')
    found = existing_registry(registry)
    if found is None:
        if not stop_all:
            find_service(found, ident or '')  # says that there is no such service
        click.echo(f'no services are running (registry: {no_registry_file()})')
        return
    entries = found.list() if stop_all else [find_service(found, ident or '')]
    problems = []
    for entry in entries:
        stopped, message = stop_service(found, entry, timeout)
        if stopped:
            click.echo(message)
        else:
            problems.append(message)
    if stop_all and not entries:
        click.echo(f'no services are running (registry: {found.url})')
    if problems:
        raise Failure('\n'.join(problems))


# -- call -----------------------------------------------------------------------------------------

CALL_TIMEOUT = 60.0
"""Seconds ``lazyplug call`` waits for an answer unless told otherwise.

A program's calls wait the ``call_timeout`` setting, 600 s by default.
"""


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):  # NaN passes every range check
        raise click.BadParameter(f'{value} is not a number of seconds', ctx, param)
    return value


@click.command('call')
@traceback_option
@click.argument('url', metavar='URL|ID')
@click.argument('value', metavar='[JSON]', required=False)
@click.option('--kwargs', 'as_kwargs', is_flag=True, help='JSON is an object of keyword arguments.')
@click.option('--security-key', envvar='LAZYPLUG_SECURITY_KEY', default=None,
              help='The key the service requires (also: LAZYPLUG_SECURITY_KEY).')
@click.option('--timeout', metavar='SECONDS', envvar='LAZYPLUG_CALL_TIMEOUT', default=CALL_TIMEOUT,
              show_default=True, type=click.FloatRange(min=0, min_open=True), callback=_finite,
              help='Seconds to wait for the answer (also: LAZYPLUG_CALL_TIMEOUT); then the call fails, and may '
                   'or may not have run.')
@registry_option
def call_command(url: str, value: str | None, as_kwargs: bool, security_key: str | None, timeout: float,
                 registry: str | None) -> None:
    """Call a service with one JSON input and print its output as JSON.

    No JSON: no input. -: read it from standard input. URL|ID is the service's URL, or its id in
    the registry (see `lazyplug ps`).

    \b
    Exit codes: 0 done; 1 the call failed (the service's error is printed) or got no answer within
    --timeout; 2 bad JSON or ID.
    """
    if value == '-':
        value = sys.stdin.read()
    args: tuple[Any, ...] = ()
    kw: dict[str, Any] = {}
    if value is not None:
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise click.BadParameter(f'{value!r:.80} is not JSON ({exc}); a string needs quotes: \'"text"\'',
                                     param_hint="'JSON'") from None
        if as_kwargs:
            if not isinstance(data, dict):
                raise click.BadParameter('--kwargs needs a JSON object', param_hint="'JSON'")
            kw = data
        else:
            args = (data,)
    if url.startswith(('http://', 'https://')):
        urls, label = [url.rstrip('/')], url
    else:
        entry = find_service(existing_registry(registry), url, "'URL|ID'")
        urls, label = entry.urls, entry.name
    from ..config import config
    from ..serve.client import ServiceClient
    try:
        with config.temp('call_timeout', timeout):
            result = ServiceClient(urls, security_key, label).call(args, kw)
    except CallTimeoutError as exc:  # it says the call may or may not have run
        raise failure(exc, f'no answer within {timeout:g} s (--timeout): ') from exc
    except LazyplugError as exc:
        raise failure(exc) from exc
    click.echo(json.dumps(result, default=repr))
