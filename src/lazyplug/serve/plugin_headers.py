"""The HTTP headers plugins send along with a call of a served module (a trace context, say).

In the caller, the headers that wrappers of ``lazyplug_service_call`` add are checked and written
into the request (:func:`encode`); in the server, wrappers of ``lazyplug_serve_call`` get the
request's headers (:func:`from_asgi`), without the security key.
"""

from __future__ import annotations

import re

from ..errors import InvalidArgumentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['encode', 'from_asgi']

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RESERVED = frozenset({'host', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'keep-alive',
                       'security-key', 'te', 'trailer', 'upgrade', 'expect'})
"""Headers lazyplug sends itself or that frame the request: a plugin may not add them."""


def encode(headers: dict[str, str]) -> bytes:
    """The header lines of the headers plugins added to a call, checked: a bad one would break or forge the request."""
    lines = []
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name) or name.lower() in _RESERVED:
            raise InvalidArgumentError(f'a plugin wrapping lazyplug_service_call added the header {name!r}: a header '
                                       'name is an HTTP token (letters, digits and !#$%&\'*+-.^_`|~) other than '
                                       f'{", ".join(sorted(_RESERVED))}; the call did not run')
        if not isinstance(value, str) or not value.isprintable() or not _latin1(value):
            raise InvalidArgumentError(f'a plugin wrapping lazyplug_service_call gave the header {name!r} the value '
                                       f'{value!r}: a header value is Latin-1 text without control characters; the '
                                       'call did not run')
        lines.append(f'{name}: {value}\r\n'.encode('latin-1'))
    return b''.join(lines)


def _latin1(text: str) -> bool:
    try:
        text.encode('latin-1')
    except UnicodeEncodeError:
        return False
    return True


def from_asgi(scope: dict[str, Any]) -> dict[str, str]:
    """The request's headers as ``lazyplug_serve_call`` gets them: repeated ones joined, the key left out."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope['headers']:
        if raw_name == b'security-key':
            continue
        name, value = raw_name.decode('latin-1'), raw_value.decode('latin-1')
        found[name] = f'{found[name]},{value}' if name in found else value
    return found
