"""``lazyplug update`` and ``lazyplug eval``: run a TARGET's lifecycle from the command line.

What a run deploys is stopped when the command ends: normally, on a failure, on Ctrl-C or on
SIGTERM. ``update --serve`` keeps the services running until one of these:

* Ctrl-C or SIGTERM (exit code 0);
* ``lazyplug stop``, from another terminal, has removed all of them from the service registry.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import click

from ..config import config
from ..errors import ConfigError, InvalidModeError, LauncherNotFoundError, ServiceError
from ..lifecycle import normalize_modes, plan_modules
from ..services.liveness import alive, runs_here
from .errors import EXIT_INTERRUPTED, Failure, failure
from .options import run_options, traceback_option
from .output import abbreviate
from .registries import apply_registry
from .target import as_module, target_argument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType
    from typing import Any, TextIO

    from ..interfaces import ServiceRegistry
    from ..module.base import ModuleBase
    from ..services import ServiceEntry

__all__ = ['eval_command', 'update_command']

SERVE_POLL = 0.5
"""Seconds between two looks of ``update --serve`` at the registry, for services ``lazyplug stop`` removed."""


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM reached the command (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Signals:
    """While active, SIGINT and SIGTERM raise :class:`Interrupted` in the main thread, once.

    A second signal, during the clean-up that follows, is ignored: the clean-up finishes.
    """

    def __enter__(self) -> _Signals:
        self._saved: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():  # handlers belong to the main thread
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._saved[signum] = signal.signal(signum, self._handle)
        return self

    def reinstall(self) -> None:
        """Take the signals back from handlers code installed meanwhile (a cluster client's, say)."""
        for signum in self._saved:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.ignore()
        raise Interrupted(signum)

    def ignore(self) -> None:
        """Ignore the signals until the block ends, so that the clean-up is not cut short."""
        for signum in self._saved:
            signal.signal(signum, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)


def _check_launcher(name: str) -> None:
    """A launcher that cannot be made is a usage error now, not a failed deploy after training."""
    from ..factories import make_launcher
    try:
        make_launcher(name)  # cheap: a launcher connects to nothing and starts nothing until it launches
    except LauncherNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="'--launcher' / LAZYPLUG_LAUNCHER") from None
    except Exception as exc:
        raise click.BadParameter(f'the launcher {name!r} cannot be made: {exc}',
                                 param_hint="'--launcher' / LAZYPLUG_LAUNCHER") from None


def _apply_run_options(launcher: str | None, registry: str | None, progress: bool | None) -> ServiceRegistry:
    """Apply the options, and check every setting the run depends on before anything runs."""
    if launcher is not None:
        if not launcher.strip():
            raise click.BadParameter('the launcher name is empty', param_hint="'--launcher'")
        config['launcher'] = launcher.strip()
    try:
        config['workers']
        name = config['launcher']
    except ConfigError as exc:  # a bad LAZYPLUG_WORKERS, say
        raise click.BadParameter(str(exc), param_hint='a setting') from None
    _check_launcher(name)
    found = apply_registry(registry)
    # unless told, progress shows where it is drawn, standard error, when that is a terminal (output
    # piped to a file or `tee` still leaves the progress on the screen), or where LAZYPLUG_PROGRESS=1 asks
    config['progress'] = (config['progress'] or sys.stderr.isatty()) if progress is None else progress
    from ..plugins import sync_optional_builtins
    sync_optional_builtins()
    return found


def _parse_modes(text: str) -> tuple[str, ...]:
    try:
        return normalize_modes([m.strip() for m in text.split(',') if m.strip()] or [''])
    except InvalidModeError as exc:
        raise click.BadParameter(str(exc), param_hint="'--mode'") from None


def _phase_summary() -> Any:
    """A context manager registering :class:`~.summary.PhaseSummary` for the run, unless progress shows.

    Its line per phase on standard output tells a log what ran.
    """
    import contextlib
    if config['progress']:
        return contextlib.nullcontext()
    from .. import plugins
    from .summary import PhaseSummary
    stack = contextlib.ExitStack()
    summary = PhaseSummary()
    plugins.register(summary, 'lazyplug.cli.summary')
    stack.callback(plugins.unregister, summary)
    return stack


class _Run:
    """One command's run of a module. It stops what it deployed on the way out, whatever the way.

    An :class:`Interrupted` inside the block ends the command with exit code 128 + the signal's
    number (130 for Ctrl-C). With ``clean_interrupt`` it is the expected end (exit code 0).
    """

    def __init__(self, root: ModuleBase) -> None:
        self.root = root
        self.clean_interrupt = False

    def __enter__(self) -> _Run:
        self.signals = _Signals().__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        self.signals.ignore()
        try:
            if isinstance(exc, Interrupted):
                click.echo(f'lazyplug: {exc} received; stopping what was deployed', err=True)
            self.root.stop()
        finally:
            self.signals.__exit__()
        if isinstance(exc, Interrupted):
            if self.clean_interrupt:
                return True
            sys.stdout.flush()
            raise click.exceptions.Exit(EXIT_INTERRUPTED if exc.signum == signal.SIGINT else 128 + exc.signum)
        return False


def _deployed(root: ModuleBase, registry: ServiceRegistry) -> list[ServiceEntry]:
    ids = {m._module_id for m in plan_modules(root)}
    return [e for e in registry.list() if e.module_id in ids and e.owner_pid == os.getpid()]


def _serve(root: ModuleBase, run: _Run, registry: ServiceRegistry, entries: list[ServiceEntry]) -> None:
    """Block until Ctrl-C / SIGTERM, or until every service in ``entries`` has ended.

    * A service ``lazyplug stop`` removed from the registry is stopped here, cleanly.
    * A service whose processes ended on their own is a failure: exit code 1 once nothing is left.
    * An entry that went missing without a removal (a Redis restarted empty) is published again.
    """
    if not entries:
        click.echo('--serve: nothing was deployed, so there is nothing to serve')
        return
    run.clean_interrupt = True
    run.signals.reinstall()
    click.echo(f'serving {len(entries)} service(s) until Ctrl-C or SIGTERM (or `lazyplug stop ID`); pid {os.getpid()}')
    owners = {m._module_id: m for m in plan_modules(root)}
    remaining = {e.module_id: e for e in entries}
    warned = False
    crashed: list[str] = []
    while remaining:
        time.sleep(SERVE_POLL)
        for module_id, entry in list(remaining.items()):
            try:
                fate = _fate(registry, entry, owners[module_id])
            except ServiceError as exc:  # the registry may come back: keep serving
                if not warned:
                    click.echo(f'lazyplug: warning: {exc}', err=True)
                    warned = True
                continue
            if fate is None:
                continue
            del remaining[module_id]
            owners[module_id]._on_stop()
            if fate == 'crashed':
                crashed.append(f'{entry.name} ({module_id[:12]})')
                click.echo(f'{entry.name} ({module_id[:12]}): its processes {entry.pids} ended on their own',
                           err=True)
            else:
                click.echo(f'{entry.name} ({module_id[:12]}) was stopped')
    if crashed:
        raise Failure(f'served services ended on their own: {", ".join(crashed)}')
    click.echo('every service has stopped; exiting')


def _fate(registry: ServiceRegistry, entry: ServiceEntry, owner: ModuleBase) -> str | None:
    """What became of ``entry``, served by this process.

    * None: it is in the registry, or was lost from it without a removal (``owner`` publishes it
      again, where its replicas are now).
    * ``'crashed'``: its processes have ended.
    * ``'stopped'``: ``lazyplug stop`` removed it.
    """
    if registry.lookup(entry.module_id) is not None:
        return None
    if runs_here(entry) and not any(alive(pid) for pid in entry.pids):
        return 'crashed'
    removed = getattr(registry, 'removed', None)  # optional: a registry without it has no lost entries
    if removed is None or removed(entry.module_id):
        return 'stopped'
    click.echo(f'lazyplug: {entry.name} ({entry.module_id[:12]}) went missing from {registry.url} without '
               'being stopped (the registry lost its data?); publishing it again', err=True)
    owner._publish()  # type: ignore[attr-defined]  # a ServerModule's part that deploys (its entries are)
    return None


@click.command('update')
@traceback_option
@click.argument('target')
@click.option('--mode', default='train,deploy,eval', show_default=True,
              help="The phases to run, comma-separated: train, deploy, eval (LazyLLM's server is deploy).")
@click.option('--no-recursive', 'no_recursive', is_flag=True, help='Update TARGET alone, not its submodules.')
@click.option('--serve', is_flag=True,
              help='Keep what was deployed running until Ctrl-C or SIGTERM (exit code 0), or until '
                   '`lazyplug stop` stops it from another terminal.')
@run_options
def update_command(target: str, mode: str, no_recursive: bool, serve: bool, workers: int | None,
                   launcher: str | None, registry: str | None, progress: bool | None) -> None:
    """Train, deploy and evaluate TARGET (path/to/file.py:name or package.module:name).

    Prints the module tree and runs the phases. Then prints the eval_result of every module with
    an evalset, and the URLs of what was deployed. What was deployed is stopped when the command
    ends (also on a failure, Ctrl-C or SIGTERM), unless --serve keeps it running.

    \b
    Exit codes: 0 done; 1 the update failed (the message names module, phase and task);
    2 usage error (bad option or TARGET); 130 / 143 interrupted by Ctrl-C / SIGTERM.
    """
    modes = _parse_modes(mode)
    found = _apply_run_options(launcher, registry, progress)
    obj = target_argument(target)
    click.echo(repr(obj).rstrip('\n'))
    root = as_module(obj)
    with _Run(root) as run:
        try:
            with _phase_summary():
                root.update(mode=modes, workers=workers, recursive=not no_recursive)
        except Exception as exc:
            raise failure(exc, f'update of {target} failed: ') from exc
        if 'eval' in modes:
            for module in plan_modules(root) if not no_recursive else [root]:
                if module._evalset is not None:
                    # the root by the name TARGET gives it; a module's repr is a tree, not a name
                    what = target.rpartition(':')[2] if module is root else module._title()
                    click.echo(f'eval {what}: {abbreviate(module.eval_result)}')
        entries = _deployed(root, found)
        for entry in entries:
            click.echo(f'deployed {entry.name} at {", ".join(entry.urls)} (id {entry.module_id[:12]})')
        if serve:
            _serve(root, run, found, entries)
    if entries and not serve:  # stopped by _Run on the way out
        click.echo(f'stopped {len(entries)} service{"s" if len(entries) != 1 else ""} '
                   '(use --serve to keep them running)')


def _read_jsonl(stream: TextIO) -> Iterator[Any]:
    for number, line in enumerate(stream, 1):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise click.BadParameter(f'line {number} of {getattr(stream, "name", "the evalset")} is not JSON: '
                                         f'{exc}', param_hint="'--evalset'") from None


def _writable_out(ctx: click.Context, param: click.Parameter, path: str) -> str:
    """--out, checked before anything is deployed: a file that cannot be written is a usage error.

    It is opened only once the evaluation succeeded, so a failed one leaves no empty file.
    """
    if path != '-':
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise click.BadParameter(f'the folder {folder} of {path!r} does not exist', ctx, param)
        if not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
            raise click.BadParameter(f'{path!r} cannot be written (no permission)', ctx, param)
    return path


@click.command('eval')
@traceback_option
@click.argument('target')
@click.option('--evalset', 'evalset', required=True, type=click.File('r'), metavar='FILE',
              help='The inputs, one JSON value per line ("-": standard input); an object is passed as keyword '
                   'arguments.')
@click.option('--out', type=click.Path(dir_okay=False, writable=True, allow_dash=True), default='-', metavar='FILE',
              callback=_writable_out,
              help='Where the outputs go, one JSON value per line, in the order of the inputs (default: standard '
                   'output). Values JSON cannot hold are written as their repr.')
@click.option('--mode', default='train,deploy', show_default=True,
              help='The phases to run before the evaluation, comma-separated: train, deploy. '
                   'deploy alone evaluates an application whose modules need no training.')
@run_options
def eval_command(target: str, evalset: TextIO, out: str, mode: str, workers: int | None, launcher: str | None,
                 registry: str | None, progress: bool | None) -> None:
    """Train and deploy TARGET (see --mode), call it on every input of --evalset, and write its outputs.

    The inputs are called concurrently; the outputs keep their order.

    \b
    Exit codes: 0 done; 1 deploying or an input failed (the message names which input);
    2 usage error (bad option, TARGET or evalset line); 130 / 143 interrupted.
    """
    modes = _parse_modes(mode)
    if 'eval' in modes:
        raise click.BadParameter('eval always runs, after the phases --mode names: give train and/or deploy',
                                 param_hint="'--mode'")
    items = list(_read_jsonl(evalset))
    _apply_run_options(launcher, registry, progress)
    root = as_module(target_argument(target))
    with _Run(root):
        try:
            # trained first (by default): a trainable module deployed untrained could not answer
            root.update(mode=modes, workers=workers)
            root.evalset(items)
            root.update(mode='eval', recursive=False)
        except Exception as exc:
            raise failure(exc, f'evaluation of {target} failed: ') from exc
        lines = [json.dumps(output, default=repr) + '\n' for output in root.eval_result]
        with click.open_file(out, 'w') as stream:
            stream.writelines(lines)
