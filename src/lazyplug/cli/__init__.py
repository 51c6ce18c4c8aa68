"""The ``lazyplug`` command line (``lazyplug.cli:main``; also ``python -m lazyplug``).

Commands: ``plugins``, ``modules``, ``tree``, ``update``, ``eval``, ``call``, ``ps``, ``stop``,
``logs``, and those installed plugins add through ``lazyplug_register_commands``:

* Each plugin adds its commands on its own: one that fails is warned about and left out.
* A command name already taken (by lazyplug or an earlier plugin) is refused with a warning.

Exit codes are in :mod:`lazyplug.cli.errors`. ``--traceback`` (or ``LAZYPLUG_DEBUG=1``) prints
the traceback of a failure besides its message.

This package imports click (and, for progress, rich). ``import lazyplug`` never imports it.
"""

from __future__ import annotations

import warnings

import click

from .. import _hookcalls
from ..errors import LazyplugError, PluginWarning
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, describe_error, failure
from .listing import modules_command, plugins_command, tree_command
from .logs import logs_command
from .options import traceback_option
from .run import eval_command, update_command
from .services import call_command, ps_command, stop_command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['COMMANDS', 'PLUGIN_COMMANDS', 'LazyplugCli', 'main', 'make_cli']

COMMANDS = (plugins_command, modules_command, tree_command, update_command, eval_command, call_command, ps_command,
            stop_command, logs_command)
"""lazyplug's own commands."""

PLUGIN_COMMANDS = {'trace': 'lazyplug-otel', 'web': 'lazyplug-web'}
"""Commands that plugin distributions of lazyplug's checkout add, by the distribution: a user who
types one without it installed is told what to install."""

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


class LazyplugCli(click.Group):
    """The top-level group.

    * An exception escaping a command is ``Error: message`` and exit code 1.
    * Ctrl-C is exit code 130.
    * A command of :data:`PLUGIN_COMMANDS` whose plugin is missing is a usage error saying what to install.
    * ``plugin_commands`` names the commands each plugin added.
    """

    plugin_commands: dict[str, list[str]]

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                            list[str]]:
        name = args[0] if args else None
        if name in PLUGIN_COMMANDS and self.get_command(ctx, name) is None:
            dist = PLUGIN_COMMANDS[name]
            ctx.fail(f'the command {name!r} comes from the {dist} plugin, which is not installed (or not loaded: '
                     f'LAZYPLUG_DISABLED_PLUGINS, LAZYPLUG_PLUGINS, LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD): pip install '
                     f'{dist} (in a checkout of lazyplug: pip install ./plugins/{dist})')
        return super().resolve_command(ctx, args)

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


def _base_group() -> LazyplugCli:
    @click.group(cls=LazyplugCli, help=_HELP, context_settings={'help_option_names': ['-h', '--help']})
    @traceback_option
    @click.version_option(package_name='lazyplug', prog_name='lazyplug', message='%(prog)s %(version)s')
    def cli() -> None:
        pass

    assert isinstance(cli, LazyplugCli)
    for command in COMMANDS:
        cli.add_command(command)
    cli.plugin_commands = {}
    return cli


def _add_plugin_commands(cli: LazyplugCli) -> None:
    """Let each plugin add its commands; refuse what fails or takes a name already taken."""
    owners = dict.fromkeys(cli.commands, 'lazyplug')
    before = dict(cli.commands)

    def after(plugin: str, error: Exception | None) -> None:
        added = [name for name, command in cli.commands.items() if before.get(name) is not command]
        for name in added:
            if name in before:
                cli.commands[name] = before[name]
                taken = 'lazyplug' if owners[name] == 'lazyplug' else f'plugin {owners[name]!r}'
                warnings.warn(f'plugin {plugin!r} tried to replace the command {name!r} of {taken}; that one is '
                              'kept', PluginWarning, stacklevel=1)
            elif error is not None:
                del cli.commands[name]
        if error is not None:
            warnings.warn(f'plugin {plugin!r} failed to add its commands and is left out of the command line: '
                          f'{describe_error(error)}', PluginWarning, stacklevel=1)
            return
        mine = [name for name in added if name not in before]
        owners.update(dict.fromkeys(mine, plugin))
        before.update(cli.commands)
        if mine:
            cli.plugin_commands[plugin] = mine

    _hookcalls.register_commands(cli, after)


def make_cli() -> LazyplugCli:
    """The ``lazyplug`` command group: lazyplug's commands, then those the plugins add."""
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
