"""The ASGI app that serves one module.

``GET /health`` answers without authentication. ``POST /call`` takes
``{"args": [...], "kwargs": {...}, "globals": {...}}`` and calls the module (through ``pre`` and
``post``); ``POST /method`` also takes ``"method"``: a public method the served object's own
classes define (not one of lazyplug's: lifecycle, hooks, evaluation, cache; not ``object``'s),
or one named in ``methods``. Plugins wrapping ``lazyplug_serve_call`` run around the call, and
get the request's headers. Replies are ``{"result": ..., "globals": {...}}`` or ``{"error":
{"type", "message", "module"}}``: a 4xx when the request was wrong, 503 when the server already runs
``max_calls`` calls (the call did not run), 500 when the module raised (logged on the
``lazyplug.serve`` logger). The server keeps serving. With a security key, every endpoint but
health needs the ``Security-Key`` header, compared in constant time.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import logging
import reprlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from types import FunctionType

from .. import _hookcalls
from ..context import globals as _globals
from ..errors import CodecError
from ..host import host
from ..values import kwargs, package
from . import codec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]

__all__ = ['KEEP_ALIVE', 'ServeApp', 'error_body', 'own_methods']

_flags = host.flags
KEEP_ALIVE = 60  # seconds the server keeps an idle connection; replies say so, and clients reuse it for less
_log = logging.getLogger('lazyplug.serve')


class _HTTPError(Exception):
    def __init__(self, status: int, kind: str, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.headers = headers


class _ClientGoneError(Exception):
    """The client went away (or was cut off by the read timeout) before its request was whole."""


def error_body(kind: str, message: str, module: str) -> bytes:
    """The JSON body of an error reply (text that UTF-8 cannot encode is shown escaped)."""
    def text(value: str) -> str:
        return value.encode('utf-8', 'backslashreplace').decode('utf-8')
    error = {'type': text(kind), 'message': text(message), 'module': text(module)}
    return json.dumps({'error': error}, ensure_ascii=False).encode('utf-8')


def own_methods(target: Any) -> frozenset[str]:
    """The public methods the classes of ``target`` define, less every name lazyplug's classes or
    ``object`` define (even where ``target``'s class overrides it)."""
    own: set[str] = set()
    reserved: set[str] = set()
    for cls in type(target).__mro__:
        if cls.__module__ == 'builtins' or cls.__module__.partition('.')[0] == 'lazyplug':
            reserved.update(vars(cls))
        else:
            own.update(name for name, value in vars(cls).items()
                       if not name.startswith('_') and isinstance(value, (FunctionType, staticmethod, classmethod)))
    return frozenset(own - reserved)


class ServeApp:
    """Serve ``target`` (a module or callable): ``pre(input)`` → ``target`` → ``post(output)``.

    ``methods`` names more methods of ``target`` that ``/method`` may call. ``max_body`` and
    ``max_depth`` bound a request's size and nesting; ``max_calls`` calls run at once, each in
    a thread of its own, and one more is answered 503 at once.
    """

    def __init__(self, target: Any, *, pre: Any = None, post: Any = None, security_key: str | None = None,
                 max_body: int = 16 * 1024 * 1024, name: str = '', methods: tuple[str, ...] = (),
                 max_depth: int = 128, max_calls: int = 128) -> None:
        self.target = target
        self.pre = pre
        self.post = post
        self.post_takes_input = post is not None and _positional_count(post) >= 2
        self.key = security_key.encode() if security_key else None
        self.max_body = max_body
        self.name = name or type(target).__name__
        self.methods = own_methods(target) | frozenset(methods)
        self.max_depth = max_depth
        self.max_calls = max_calls
        self.running = 0  # calls handed to the executor and not finished (read and written in the loop only)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._health = json.dumps({'status': 'ok', 'module': self.name}).encode()

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
        headers = [(b'content-type', b'application/json'), (b'keep-alive', b'timeout=%d' % KEEP_ALIVE)]
        try:
            status, body = await self._handle(scope, receive)
        except _ClientGoneError:
            return  # nobody to answer
        except _HTTPError as exc:
            status, body = exc.status, error_body(exc.kind, str(exc), self.name)
            headers.extend(exc.headers)
        except Exception as exc:
            _log.error('%s: answering %s %s failed', self.name, scope.get('method'), scope.get('path'), exc_info=True,
                       extra={'lazyplug_app': self})
            status, body = 500, error_body('InternalServerError', f'the server failed: {type(exc).__name__}: {exc}',
                                           self.name)
        headers.append((b'content-length', str(len(body)).encode()))
        await send({'type': 'http.response.start', 'status': status, 'headers': headers})
        await send({'type': 'http.response.body', 'body': body})

    async def _handle(self, scope: dict[str, Any], receive: Receive) -> tuple[int, bytes]:
        path, method = scope['path'], scope['method']
        if path == '/health':
            return 200, self._health
        if path not in ('/call', '/method'):
            raise _HTTPError(404, 'NotFound', f'no endpoint {path}; the endpoints are /health, /call and /method')
        if method != 'POST':
            raise _HTTPError(405, 'MethodNotAllowed', f'{path} takes POST, not {method}')
        self._authenticate(scope)
        request = self._parse(await self._read(scope, receive), path)
        if self.running >= self.max_calls:
            raise _HTTPError(503, 'ServiceBusy', f'{self.name} already runs {self.max_calls} calls, as many as it '
                             'may at once (the max_concurrent_calls setting): the call did not run',
                             ((b'retry-after', b'1'),))
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a thread for every call it may run: none waits for another's
            loop.set_default_executor(ThreadPoolExecutor(self.max_calls, thread_name_prefix='lazyplug-call'))
            self._loop = loop
        self.running += 1
        try:
            headers = _plugin_headers(scope) if _flags.serve_call else None
            return await loop.run_in_executor(None, partial(self._run, *request, headers))
        finally:
            self.running -= 1

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
            if message['type'] == 'http.disconnect':
                raise _ClientGoneError
            chunk = message.get('body', b'')
            size += len(chunk)
            if size > self.max_body:
                raise _HTTPError(413, 'PayloadTooLarge', f'the request body is larger than {self.max_body} bytes')
            chunks.append(chunk)
            more = message.get('more_body', False)
        return b''.join(chunks)

    def _parse(self, body: bytes, path: str) -> tuple[str | None, list[Any], dict[str, Any], dict[str, Any]]:
        try:
            request = codec.loads(body, '', self.max_depth)
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
            name = self._method(request.get('method'))
        return name, args, kw, session

    def _method(self, name: Any) -> str:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith('_'):
            raise _HTTPError(400, 'BadRequest', f'"method" must name a public method, not {reprlib.repr(name)}')
        if name in self.methods:
            return name
        if inspect.getattr_static(self.target, name, None) is not None:
            raise _HTTPError(403, 'Forbidden', f"{name!r} is not a method of {self.name}'s own API (lazyplug's "
                             'lifecycle, hooks, evaluation and cache are not callable remotely); '
                             f'ServerModule(..., methods=[{name!r}]) opens it')
        raise _HTTPError(404, 'NotFound', f'{self.name} has no method {name!r}')

    def _run(self, name: str | None, args: list[Any], kw: dict[str, Any], session: dict[str, Any],
             headers: dict[str, str] | None) -> tuple[int, bytes]:
        with _globals.session(session):
            try:
                result = self._invoke(name, args, kw, headers)
            except Exception as exc:
                _log.error('%s raised %s: %s', self.name, type(exc).__name__, exc, exc_info=True,
                           extra={'lazyplug_app': self})
                return 500, error_body(type(exc).__name__, str(exc), self.name)
            try:
                reply = {'result': result, 'globals': codec.encodable_items(_globals.snapshot())}
                return 200, codec.dumps(reply, '', self.max_depth)
            except CodecError as exc:
                return 500, error_body('CodecError', str(exc), self.name)

    def _invoke(self, name: str | None, args: list[Any], kw: dict[str, Any], headers: dict[str, str] | None) -> Any:
        """Run the call; through ``lazyplug_serve_call`` when plugins wrap it (they get ``headers``)."""
        call = partial(getattr(self.target, name), *args, **kw) if name else partial(self._call, args, kw)
        return call() if headers is None else _hookcalls.serve_call(self.name, self.target, name, headers, call)

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


def _plugin_headers(scope: dict[str, Any]) -> dict[str, str]:
    """The request's headers as ``lazyplug_serve_call`` gets them: repeated ones joined, the key left out."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope['headers']:
        if raw_name == b'security-key':
            continue
        name, value = raw_name.decode('latin-1'), raw_value.decode('latin-1')
        found[name] = f'{found[name]},{value}' if name in found else value
    return found


def _positional_count(func: Any) -> int:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
