"""``lazyplug.globals``: the per-request context.

A dict-like store that belongs to the current request (a *session*).

* It lives in a context variable. The worker threads of parallel flows run in a copy of their
  caller's context: they see and share their caller's session.
* A plain ``threading.Thread`` starts a session of its own.
* ``with globals.session():`` runs a block in a fresh session (a server does so per request).
  ``globals.session(data)`` starts it with ``data``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, MutableMapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['Globals', 'Session', 'current_session', 'globals', 'record_trace']


class Session(dict):  # type: ignore[type-arg]
    """The values of one session; ``streams`` holds its stream queues (``lazyplug.streaming.queues``)."""

    __slots__ = ('streams',)
    streams: Any


_session: contextvars.ContextVar[Session] = contextvars.ContextVar('lazyplug_session')


def current_session() -> Session:
    """The current session's values, made empty here if this context has no session yet.

    Parallel flows call it before copying contexts, so that their items share one session.
    """
    try:
        return _session.get()
    except LookupError:
        data = Session()
        _session.set(data)
        return data


class _Session:
    """The context manager of ``Globals.session``."""

    def __init__(self, data: dict[str, Any] | None) -> None:
        self._data = Session(data or {})
        self._token: contextvars.Token[Session] | None = None

    def __enter__(self) -> Globals:
        self._token = _session.set(self._data)
        return globals

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _session.reset(self._token)


class Globals(MutableMapping):  # type: ignore[type-arg]
    """The current session's values. Mutations are seen by every thread serving the same request."""

    def __getitem__(self, key: str) -> Any:
        return current_session()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        current_session()[key] = value

    def __delitem__(self, key: str) -> None:
        del current_session()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(current_session()))

    def __len__(self) -> int:
        return len(current_session())

    def session(self, data: dict[str, Any] | None = None) -> _Session:
        """A ``with`` block that runs in a fresh session holding a copy of ``data``."""
        return _Session(data)

    def snapshot(self) -> dict[str, Any]:
        """A shallow copy of the current session's values."""
        return dict(current_session())

    def __repr__(self) -> str:
        return f'lazyplug.globals({current_session()!r})'


globals = Globals()  # noqa: A001 - LazyLLM's public name


def record_trace(label: str, output: Any) -> None:
    """Append ``(label, output)`` to ``globals['trace']``: what modules with ``return_trace`` returned."""
    current_session().setdefault('trace', []).append((label, output))
