"""The ASGI app that serves one module.

``GET /health`` answers without authentication. ``POST /call`` takes
``{"args": [...], "kwargs": {...}, "globals": {...}}`` and calls the module (through ``pre`` and
``post``); ``POST /method`` also takes ``"method"``, the name of another public method of the
served object. Replies are ``{"result": ..., "globals": {...}}`` or ``{"error": {"type",
"message", "module"}}`` with a 4xx (the request was wrong) or 500 (the module raised) status; the
server keeps serving. With a security key, every endpoint but health needs the ``Security-Key``
header, compared in constant time.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
from functools import partial

from ..context import globals as _globals
from ..errors import CodecError
from ..values import kwargs, package
from . import codec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]

__all__ = ['ServeApp']


class _HTTPError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


class ServeApp:
    """Serve ``target`` (a module or callable): ``pre(input)`` → ``target`` → ``post(output)``."""

    def __init__(self, target: Any, *, pre: Any = None, post: Any = None, security_key: str | None = None,
                 max_body: int = 16 * 1024 * 1024, name: str = '') -> None:
        self.target = target
        self.pre = pre
        self.post = post
        self.post_takes_input = post is not None and _positional_count(post) >= 2
        self.key = security_key.encode() if security_key else None
        self.max_body = max_body
        self.name = name or type(target).__name__

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope['type'] == 'lifespan':
            while True:
                message = await receive()
                if message['type'] == 'lifespan.startup':
                    await send({'type': 'lifespan.startup.complete'})
                elif message['type'] == 'lifespan.shutdown':
                    await send({'type': 'lifespan.shutdown.complete'})
                    return
        if scope['type'] != 'http':
            return
        try:
            status, body = await self._handle(scope, receive)
        except _HTTPError as exc:
            status, body = exc.status, self._error(exc.kind, str(exc))
        await send({'type': 'http.response.start', 'status': status,
                    'headers': [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode())]})
        await send({'type': 'http.response.body', 'body': body})

    def _error(self, kind: str, message: str) -> bytes:
        return codec.dumps({'error': {'type': kind, 'message': message, 'module': self.name}})

    async def _handle(self, scope: dict[str, Any], receive: Receive) -> tuple[int, bytes]:
        path, method = scope['path'], scope['method']
        if path == '/health':
            return 200, codec.dumps({'status': 'ok', 'module': self.name})
        if path not in ('/call', '/method'):
            raise _HTTPError(404, 'NotFound', f'no endpoint {path}; the endpoints are /health, /call and /method')
        if method != 'POST':
            raise _HTTPError(405, 'MethodNotAllowed', f'{path} takes POST, not {method}')
        self._authenticate(scope)
        request = self._parse(await self._read(scope, receive), path)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, partial(self._run, *request))

    def _authenticate(self, scope: dict[str, Any]) -> None:
        if self.key is None:
            return
        given = next((v for k, v in scope['headers'] if k == b'security-key'), b'')
        if not hmac.compare_digest(given, self.key):
            raise _HTTPError(401, 'AuthenticationError', 'authentication failed: wrong or missing Security-Key')

    async def _read(self, scope: dict[str, Any], receive: Receive) -> bytes:
        declared = next((v for k, v in scope['headers'] if k == b'content-length'), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise _HTTPError(413, 'PayloadTooLarge', f'the request body is larger than {self.max_body} bytes')
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunk = message.get('body', b'')
            size += len(chunk)
            if size > self.max_body:
                raise _HTTPError(413, 'PayloadTooLarge', f'the request body is larger than {self.max_body} bytes')
            chunks.append(chunk)
            more = message.get('more_body', False)
        return b''.join(chunks)

    def _parse(self, body: bytes, path: str) -> tuple[str | None, list[Any], dict[str, Any], dict[str, Any]]:
        try:
            request = codec.loads(body)
        except CodecError as exc:
            raise _HTTPError(400, 'BadRequest', str(exc)) from None
        if not isinstance(request, dict):
            raise _HTTPError(400, 'BadRequest', 'the request must be a JSON object with "args" and "kwargs"')
        args, kw, session = request.get('args', []), request.get('kwargs', {}), request.get('globals', {})
        if not isinstance(args, list) or not isinstance(kw, dict) or not isinstance(session, dict) \
                or not all(isinstance(k, str) for k in kw):
            raise _HTTPError(400, 'BadRequest',
                             '"args" must be a list, "kwargs" and "globals" objects with string keys')
        name = None
        if path == '/method':
            name = request.get('method')
            if not isinstance(name, str) or not name.isidentifier() or name.startswith('_'):
                raise _HTTPError(400, 'BadRequest', f'"method" must name a public method, not {name!r}')
            if not callable(getattr(self.target, name, None)):
                raise _HTTPError(404, 'NotFound', f'{self.name} has no method {name!r}')
        return name, args, kw, session

    def _run(self, name: str | None, args: list[Any], kw: dict[str, Any], session: dict[str, Any]) -> tuple[int, bytes]:
        with _globals.session(session):
            try:
                result = getattr(self.target, name)(*args, **kw) if name is not None else self._call(args, kw)
            except Exception as exc:
                logging.getLogger('lazyplug.serve').error('%s raised %s: %s', self.name, type(exc).__name__, exc,
                                                          exc_info=True, extra={'lazyplug_app': self})
                return 500, self._error(type(exc).__name__, str(exc))
            try:
                reply = {'result': result, 'globals': codec.encodable_items(_globals.snapshot())}
                return 200, codec.dumps(reply, 'the result')
            except CodecError as exc:
                return 500, self._error('CodecError', str(exc))

    def _call(self, args: list[Any], kw: dict[str, Any]) -> Any:
        if self.pre is not None:  # pre's result is the target's input, by the flows' rule
            value = self.pre(*args, **kw)
            if type(value) is package:
                args, kw = list(value), {}
            elif type(value) is kwargs:
                args, kw = [], dict(value)
            else:
                args, kw = [value], {}
        output = self.target(*args, **kw)
        if self.post is None:
            return output
        original = args[0] if len(args) == 1 else package(args)
        return self.post(output, original) if self.post_takes_input else self.post(output)


def _positional_count(func: Any) -> int:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))

