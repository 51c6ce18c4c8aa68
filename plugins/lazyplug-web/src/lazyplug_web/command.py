"""``lazyplug web TARGET``: serve any TARGET's module on a web page until Ctrl-C or ``lazyplug stop``."""

from __future__ import annotations

import signal
import time

import click
from lazyplug.cli.target import TargetError, as_module, load_target
from lazyplug.errors import InvalidModeError

from .module import WebModule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

__all__ = ['web_command']

POLL = 0.5
"""Seconds between two looks at the service registry (has ``lazyplug stop`` removed the page?)."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@click.command('web')
@click.argument('target')
@click.option('--port', type=click.IntRange(1, 65535), default=None, help='The port of the page (default: a free one).')
@click.option('--host', default='127.0.0.1', show_default=True,
              help='The address to serve on; other than loopback, the page needs a security key.')
@click.option('--title', default=None, help="The page's title (default: TARGET's name).")
@click.option('--mode', default='train,server', show_default=True,
              help='The phases to run before serving, comma-separated: train, server (deploy), eval.')
@click.option('--security-key', envvar='LAZYPLUG_SECURITY_KEY', default=None,
              help='A key the page asks its users for (also: LAZYPLUG_SECURITY_KEY); made up and printed when '
                   '--host is not loopback and none is given.')
def web_command(target: str, port: int | None, host: str, title: str | None, mode: str,
                security_key: str | None) -> None:
    """Train and deploy TARGET (path/to/file.py:name or package.module:name), and serve it on a web page.

    The page shows the module tree; type an input (text, or JSON) and the answer streams in as
    the module produces it. It runs until Ctrl-C or SIGTERM, or until `lazyplug stop ID` (the id
    `lazyplug ps` shows); then everything deployed is stopped.

    \b
    Exit codes: 0 served and stopped; 1 deploying failed; 2 usage error (bad option or TARGET);
    130 interrupted by Ctrl-C while deploying.
    """
    try:
        obj = load_target(target)
    except TargetError as exc:
        raise click.BadParameter(str(exc), param_hint="'TARGET'") from None
    loopback = host in ('127.0.0.1', 'localhost', '::1')
    key = security_key or (None if loopback else True)
    web = WebModule(as_module(obj), port=port, host=host, title=title or target.rpartition(':')[2], security_key=key)
    modes = [part.strip() for part in mode.split(',') if part.strip()]
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            web.update(mode=modes)
        except InvalidModeError as exc:
            raise click.BadParameter(str(exc), param_hint="'--mode'") from None
        click.echo(f'{target} on a web page at {web.url} (id {web._impl._module_id[:12]}); Ctrl-C stops it')
        if key is True:
            click.echo(f'security key: {web._security_key}')
        from lazyplug.services import get_registry
        registry = get_registry()
        try:
            while registry.lookup(web._impl._module_id) is not None:  # `lazyplug stop ID` removes it
                time.sleep(POLL)
            click.echo('the page was stopped (lazyplug stop)')
        except KeyboardInterrupt:
            click.echo('lazyplug web: interrupted; stopping what was deployed', err=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the clean-up is not cut short
        try:
            web.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
