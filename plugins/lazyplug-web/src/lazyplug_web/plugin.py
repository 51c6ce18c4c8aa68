"""The hook plugin of lazyplug-web (entry point ``web`` in the ``lazyplug`` group): the ``web`` command."""

from __future__ import annotations

from lazyplug import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@hookimpl
def lazyplug_register_commands(cli: Any) -> None:
    """Add ``lazyplug web TARGET``."""
    from .command import web_command
    cli.add_command(web_command)
