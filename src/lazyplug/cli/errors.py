"""How the ``lazyplug`` command fails: exit codes, and one message per error.

* 0: success.
* 1 (:data:`EXIT_FAILED`): the work failed: an update, an evaluation, a call, a stop.
* 2 (:data:`EXIT_USAGE`): a usage error: a bad option or TARGET, an unknown group or service id.
* 130 (:data:`EXIT_INTERRUPTED`): Ctrl-C; 143: SIGTERM (an update or an evaluation).
"""

from __future__ import annotations

import click

from ..config import config
from ..errors import LazyplugError

__all__ = ['EXIT_FAILED', 'EXIT_INTERRUPTED', 'EXIT_OK', 'EXIT_USAGE', 'Failure', 'describe_error', 'failure']

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def describe_error(exc: BaseException) -> str:
    """One message for ``exc``: its text, then its notes and its causes' notes.

    The text starts with the exception's type unless it is lazyplug's own.
    """
    text = str(exc) if isinstance(exc, LazyplugError) else f'{type(exc).__name__}: {exc}'
    notes: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        notes.extend(getattr(current, '__notes__', ()))
        current = current.__cause__
    return '\n'.join([text, *notes])


class Failure(click.ClickException):
    """A failure of the work a command did: exit code 1, printed as ``Error: message``."""

    exit_code = EXIT_FAILED


def failure(exc: BaseException, prefix: str = '') -> Failure:
    """The :class:`Failure` reporting ``exc``. With ``--traceback``, the traceback is printed first."""
    if config['debug']:
        import traceback
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    return Failure(prefix + describe_error(exc))
