"""``WebModule``: a web page for any module, deployed in the deploy phase like a ServerModule."""

from __future__ import annotations

import html
import json
import socket
from importlib.resources import files

from lazyplug.errors import InvalidArgumentError
from lazyplug.module.base import ModuleBase
from lazyplug.module.server import ServerModule
from lazyplug.reprs import make_repr
from lazyplug.serve.app import Page

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['WebModule']


def _free_port(candidates: list[int], host: str) -> int:
    """The first of ``candidates`` no server listens on now (LazyLLM's port ranges)."""
    for port in candidates:
        with socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    shown = f'{candidates[0]}-{candidates[-1]}' if len(candidates) > 3 else ', '.join(map(str, candidates))
    raise InvalidArgumentError(f'WebModule: no port of {shown} is free on {host}')


def _ports(port: Any) -> list[int] | None:
    if port is None:
        return None
    candidates = [port] if isinstance(port, int) and not isinstance(port, bool) else (
        list(port) if isinstance(port, (range, list, tuple)) else None)
    if not candidates or not all(isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536
                                 for p in candidates):
        raise InvalidArgumentError(f'WebModule port must be a TCP port number (1-65535), or a range, list or tuple of '
                                   f'them to pick a free one from, not {port!r}')
    return candidates


class WebModule(ServerModule):
    """A web page for ``m`` (a module, flow or callable): type an input, watch the answer stream in.

    The page is served from the deploy phase (``start()``, ``update()``, or as part of an
    ``ActionModule``) by a server in this process, at :attr:`url`, over lazyplug's own wire; it
    needs no internet access. It shows ``title`` (default: the module's name), the module tree,
    the conversation of the page's session (kept in the browser tab) and errors with their type
    and message. Inputs are text, or JSON for structured ones (an object may be passed as keyword
    arguments). When ``stream`` is true (the default) the answer appears delta by delta as the
    module produces it; else when it is complete.

    ``port`` is a port number, or LazyLLM's range, list or tuple to take the first free one from
    (when the WebModule is made); by default the system picks one. ``host`` other than loopback
    needs a ``security_key`` (``True``: generate one), which the page asks its user for.
    A WebModule is a ``ServerModule`` served by the ``thread`` launcher: ``stop()``, ``wait()``,
    ``lazyplug ps`` / ``stop`` / ``call`` and ``lazyplug update --serve`` work on it as on any.
    """

    def __init__(self, m: Any, *, title: str | None = None, port: Any = None, host: str = '127.0.0.1',
                 stream: bool = True, security_key: str | bool | None = None, id: str | None = None) -> None:  # noqa: A002
        if m is None or isinstance(m, str):
            raise InvalidArgumentError(f'WebModule shows a module, flow or callable, not {m!r}')
        if type(stream) is not bool:
            raise InvalidArgumentError(f'WebModule stream must be True or False, not {stream!r}')
        if title is not None and not isinstance(title, str):
            raise InvalidArgumentError(f'WebModule title must be a string, not {title!r}')
        candidates = _ports(port)
        chosen = None if candidates is None else _free_port(candidates, host)
        super().__init__(m, port=chosen, launcher='thread', host=host, security_key=security_key, id=id)
        self._web_title = title or _name(m)
        self._web_stream = stream
        served = self._impl._m
        self._impl._label = f'{self._web_title} on a WebModule page'
        self._impl._serving['pages'] = {
            '/': Page(_page(self._web_title, repr(served), stream, keyed=bool(self._security_key)), public=True),
            '/tree': Page(repr(served).encode(), b'text/plain; charset=utf-8'),
        }

    @property
    def url(self) -> str | None:
        """The page's address (``http://host:port``), or None before ``start()``."""
        return self._urls[0] if self._urls else None

    @property
    def title(self) -> str:
        """The page's title."""
        return self._web_title

    def __repr__(self) -> str:
        return make_repr('Module', 'Web', subs=[repr(self._impl._m)], name=self.name, title=self._web_title,
                         stream=self._web_stream)


def _name(m: Any) -> str:
    if isinstance(m, ModuleBase):
        return m.name or type(m).__name__
    return getattr(m, '__name__', None) or type(m).__name__


def _page(title: str, tree: str, stream: bool, keyed: bool) -> bytes:
    """The page, with its title, the module tree (only to a caller with the key, when there is one)
    and its settings filled in."""
    text = files(__package__).joinpath('page.html').read_text(encoding='utf-8')
    settings = json.dumps({'stream': stream, 'keyed': keyed}).replace('<', '\\u003c')
    return (text.replace('{{title}}', html.escape(title))
            .replace('{{tree}}', '' if keyed else html.escape(tree))
            .replace('{{settings}}', settings)).encode('utf-8')
