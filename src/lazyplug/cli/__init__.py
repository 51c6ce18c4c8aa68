"""The ``lazyplug`` command line (``lazyplug.cli:main``; also ``python -m lazyplug``).

Commands: ``plugins``, ``modules``, ``tree``, ``update``, ``eval``, ``call``, ``ps``, ``stop``,
``logs``, and whatever installed plugins add through the ``lazyplug_register_commands`` hook
(called once when the command line starts, one plugin at a time, so that a plugin that fails to
add its commands is warned about and left out while the rest work).

Exit codes: 0 success; 1 a failed update, evaluation, call or stop (the message names the module,
phase and task); 2 a usage error (a bad option or TARGET, an unknown group or service id);
130 interrupted by Ctrl-C (143: an update or evaluation by SIGTERM), except ``update --serve``
once it serves, for which that is the normal end (0). ``--traceback`` (or ``LAZYPLUG_DEBUG=1``)
prints the traceback of a failure besides its message.

This package imports click (and, for progress, rich); ``import lazyplug`` never imports it.
"""

from __future__ import annotations

import warnings

import click

from ..config import config
from ..errors import LazyplugError, PluginWarning

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['EXIT_FAILED', 'EXIT_INTERRUPTED', 'EXIT_OK', 'EXIT_USAGE', 'Failure', 'describe_error', 'failure', 'main',
           'make_cli', 'traceback_option']

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_HELP = """Build, deploy, evaluate and inspect lazyplug applications.

TARGET (tree, update, eval) is path/to/file.py:name or package.module:name, naming a module, a
flow, or a function that returns one. Such a function is called (by tree too); one named main,
or annotated -> None, is refused, not run: it is a program, not a factory.

\b
Exit codes:
  0    success
  1    a failed update, evaluation, call or stop
  2    a usage error: bad option, bad TARGET, unknown group or service id
  130  interrupted by Ctrl-C (143: update or eval by SIGTERM), after stopping
       what had been deployed
"""


def describe_error(exc: BaseException) -> str:
    """One message for ``exc``: its text (with its type unless it is lazyplug's own) and its notes,
    and those of its cause."""
    text = str(exc) if isinstance(exc, LazyplugError) else f'{type(exc).__name__}: {exc}'
    notes: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        notes.extend(getattr(current, '__notes__', ()))
        current = current.__cause__
    return '\n'.join([text, *notes])


class Failure(click.ClickException):
    """A failure of the work a command did (exit code 1), printed as ``Error: message``."""

    exit_code = EXIT_FAILED


def failure(exc: BaseException, prefix: str = '') -> Failure:
    """The :class:`Failure` reporting ``exc`` (its traceback printed first with ``--traceback``)."""
    if config['debug']:
        import traceback
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    return Failure(prefix + describe_error(exc))


class LazyplugCli(click.Group):
    """The top-level group: turns exceptions escaping a command into ``Error: message`` and exit 1,
    and Ctrl-C into exit 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:  # click would say "Aborted!" and exit 1, the code of a failure
            click.echo('lazyplug: interrupted', err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            raise failure(exc) from exc


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        config['debug'] = True


traceback_option = click.option('--traceback', is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
                                help='Print the traceback of a failure (also: LAZYPLUG_DEBUG=1).')
"""``--traceback``, accepted by the group and by every command (before or after the command's name)."""


def _base_group() -> click.Group:
    @click.group(cls=LazyplugCli, help=_HELP, context_settings={'help_option_names': ['-h', '--help']})
    @traceback_option
    @click.version_option(package_name='lazyplug', prog_name='lazyplug', message='%(prog)s %(version)s')
    def cli() -> None:
        pass

    from .listing import modules_command, plugins_command, tree_command
    from .logs import logs_command
    from .run import eval_command, update_command
    from .services import call_command, ps_command, stop_command
    for command in (plugins_command, modules_command, tree_command, update_command, eval_command, call_command,
                    ps_command, stop_command, logs_command):
        cli.add_command(command)
    return cli


def _add_plugin_commands(cli: click.Group) -> None:
    """Let each plugin implementing ``lazyplug_register_commands`` add its commands, one at a time;
    a plugin that fails, or that replaces a built-in command, is warned about."""
    from .. import _hookcalls
    own = dict(cli.commands)

    def after(plugin: str, error: Exception | None) -> None:
        if error is not None:
            warnings.warn(f'plugin {plugin!r} failed to add its commands and is left out of the command line: '
                          f'{describe_error(error)}', PluginWarning, stacklevel=1)
        for name, command in own.items():
            if cli.commands.get(name) is not command:
                cli.commands[name] = command
                warnings.warn(f'plugin {plugin!r} tried to replace the lazyplug command {name!r}; the built-in '
                              'command is kept', PluginWarning, stacklevel=1)

    _hookcalls.register_commands(cli, after)


def make_cli() -> click.Group:
    """The ``lazyplug`` command group: the built-in commands, then those the plugins add."""
    cli = _base_group()
    _add_plugin_commands(cli)
    return cli


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    # a user reads these: the message, without the source line that raised it
    click.echo(f'lazyplug: warning: {message}', err=True)


def main(argv: list[str] | None = None) -> None:
    """Run the ``lazyplug`` command with ``argv`` (default: ``sys.argv[1:]``) and exit."""
    warnings.showwarning = _show_warning
    try:
        cli = make_cli()
    except LazyplugError as exc:  # LAZYPLUG_STRICT_PLUGINS=1 and a plugin that does not load
        click.echo(f'Error: {describe_error(exc)}', err=True)
        raise SystemExit(EXIT_FAILED) from None
    cli.main(args=argv, prog_name='lazyplug')


if __name__ == '__main__':  # pragma: no cover - python -m lazyplug.cli
    main()
