"""The ASGI app that serves one module, and its wire.

``GET /health`` answers without authentication. With a security key, every other endpoint needs
the ``Security-Key`` header, compared in constant time.

``POST /call`` takes ``{"args": [...], "kwargs": {...}, "globals": {...}}`` (JSON; values tagged
as :mod:`lazyplug.serve.codec` says) and calls the module through ``pre`` and ``post``; with
``"stream": true`` it streams the module's deltas. ``POST /method`` also takes ``"method"``: a
public method the served object's own classes define (not one of lazyplug's: lifecycle, hooks,
evaluation, cache; not ``object``'s), or one named in ``methods``.

A reply is one of two kinds:

* **Plain** (nothing was streamed): ``{"result": ..., "globals": {...}}`` (200), or
  ``{"error": {"type", "message", "module"}}``: 4xx when the request was wrong, 503 when the server
  already runs ``max_calls`` calls (the call did not run), 500 when the module raised. A result
  that is an iterator (a generator module called plainly) is sent joined (strings concatenated).
* **Streamed**, from the first delta on: ``200``, ``Content-Type: application/x-ndjson``, chunked:
  one JSON object per line, each sent as soon as it is produced:

  * ``{"delta": value}``: the next delta of a ``"stream": true`` call;
  * ``{"queued": value}`` (``"queue": name`` unless the default queue): a delta that a call made
    by the module put on its session's stream queue (a ``ServerModule(..., stream=True)`` called
    plainly), for the caller's queue;
  * last, ``{"result": ..., "globals": {...}}`` (with ``"streamed": true`` when the call
    streamed), or ``{"error": {...}}``: the module raised after the lines before it. A value
    that cannot travel is such an error, and ends the stream.

Plugins wrapping ``lazyplug_serve_call`` run around the call (a streamed one to its end), and
get the request's headers. A client that disconnects (or closes its stream) stops the module's
generator at its next delta.
A stream counts against ``max_calls`` until it ends. Errors are logged on the ``lazyplug.serve``
logger; the server keeps serving.
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
from ..streaming.queues import DEFAULT, relay
from ..streaming.stream import MARK, open_call, output_of
from ..values import kwargs, package
from . import codec, plugin_headers
from .replies import CONTENT_TYPE, STREAMING, Reply

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]

__all__ = ['KEEP_ALIVE', 'Page', 'ServeApp', 'error_body', 'own_methods']

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


class Page:
    """A document served at ``GET path`` beside the module (a web page for it): ``public`` pages need no key."""

    __slots__ = ('body', 'content_type', 'public')

    def __init__(self, body: bytes, content_type: bytes = b'text/html; charset=utf-8', public: bool = False) -> None:
        self.body = body
        self.content_type = content_type
        self.public = public


class ServeApp:
    """Serve ``target`` (a module or callable): ``pre(input)`` → ``target`` → ``post(output)``.

    ``methods`` names more methods of ``target`` that ``/method`` may call; ``pages`` are documents
    served at ``GET`` paths of their own (a :class:`Page` each). ``max_body`` and
    ``max_depth`` bound a request's size and nesting; ``max_calls`` calls run at once, each in
    a thread of its own, and one more is answered 503 at once.
    """

    def __init__(self, target: Any, *, pre: Any = None, post: Any = None, security_key: str | None = None,
                 max_body: int = 16 * 1024 * 1024, name: str = '', methods: tuple[str, ...] = (),
                 max_depth: int = 128, max_calls: int = 128, pages: dict[str, Page] | None = None) -> None:
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
        self._executor: ThreadPoolExecutor
        self._health = json.dumps({'status': 'ok', 'module': self.name}).encode()
        self.pages = dict(pages or {})

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
        page = self.pages.get(scope['path']) if self.pages and scope['method'] == 'GET' else None
        if page is not None and (page.public or self._authentic(scope)):
            headers[0] = (b'content-type', page.content_type)
            headers.append((b'content-length', str(len(page.body)).encode()))
            await send({'type': 'http.response.start', 'status': 200, 'headers': headers})
            await send({'type': 'http.response.body', 'body': page.body})
            return
        try:
            outcome = await self._handle(scope, receive)
            if isinstance(outcome, Reply):
                try:
                    headers[0] = (b'content-type', CONTENT_TYPE)
                    await outcome.send(send, receive, headers)
                finally:
                    self.running -= 1
                return
            status, body = outcome
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

    async def _handle(self, scope: dict[str, Any], receive: Receive) -> tuple[int, bytes] | Reply:
        path, method = scope['path'], scope['method']
        if path == '/health':
            return 200, self._health
        if path in self.pages:  # not answered by __call__: a page that needs the key, or not a GET
            if method != 'GET':
                raise _HTTPError(405, 'MethodNotAllowed', f'{path} takes GET, not {method}')
            self._authenticate(scope)
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
            self._executor = ThreadPoolExecutor(self.max_calls, thread_name_prefix='lazyplug-call')
            loop.set_default_executor(self._executor)
            self._loop = loop
        reply = Reply(loop)
        self.running += 1
        streaming = False
        try:
            # the worker resolves reply.first itself: one wake-up of the loop per plain call
            headers = plugin_headers.from_asgi(scope) if _flags.serve_call else None
            self._executor.submit(self._run, *request, headers, reply)
            first = await reply.first
            if first is STREAMING:
                streaming = True  # __call__ sends it, then counts the call as over
                return reply
            return first  # type: ignore[no-any-return]
        finally:
            if not streaming:
                self.running -= 1

    def _authenticate(self, scope: dict[str, Any]) -> None:
        if not self._authentic(scope):
            raise _HTTPError(401, 'AuthenticationError', 'authentication failed: wrong or missing Security-Key')

    def _authentic(self, scope: dict[str, Any]) -> bool:
        if self.key is None:
            return True
        given = next((v for k, v in scope['headers'] if k == b'security-key'), b'')
        return hmac.compare_digest(given, self.key)

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

    def _parse(self, body: bytes, path: str) -> tuple[str | None, list[Any], dict[str, Any], dict[str, Any], bool]:
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
        stream = request.get('stream', False)
        if type(stream) is not bool:
            raise _HTTPError(400, 'BadRequest', f'"stream" must be true or false, not {reprlib.repr(stream)}')
        name = None
        if path == '/method':
            if stream:
                raise _HTTPError(400, 'BadRequest', '/method does not stream: "stream" is for /call')
            name = self._method(request.get('method'))
        return name, args, kw, session, stream

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

    def _run(self, name: str | None, args: list[Any], kw: dict[str, Any], session: dict[str, Any], stream: bool,
             headers: dict[str, str] | None, reply: Reply) -> None:
        """Run one call in a worker thread; its reply goes to ``reply``."""
        with _globals.session(session):
            # deltas queued in this session (calls the module makes) go to the caller, as they come
            relay(partial(self._queued, reply))
            try:
                result = self._invoke(name, args, kw, stream, headers, reply)
            except BaseException as exc:  # SystemExit too: a reply must always be sent
                if not isinstance(exc, Exception):
                    exc = RuntimeError(f'{type(exc).__name__}: {exc}')
                _log.error('%s raised %s: %s', self.name, type(exc).__name__, exc, exc_info=True,
                           extra={'lazyplug_app': self})
                reply.finish(500, error_body(type(exc).__name__, str(exc), self.name))
                return
            finally:
                relay(None)
            try:
                document = {'result': result, 'globals': codec.encodable_items(_globals.snapshot())}
                if reply.streamed:
                    document['streamed'] = True
                reply.finish(200, codec.dumps(document, '', self.max_depth))
            except CodecError as exc:
                reply.finish(500, error_body('CodecError', str(exc), self.name))

    def _invoke(self, name: str | None, args: list[Any], kw: dict[str, Any], stream: bool,
                headers: dict[str, str] | None, reply: Reply) -> Any:
        """Run the call; through ``lazyplug_serve_call`` when plugins wrap it (they get ``headers``)."""
        if name is not None:
            call = partial(_method_output, getattr(self.target, name), args, kw)
        else:
            call = partial(self._stream, args, kw, reply) if stream else partial(self._call, args, kw)
        return call() if headers is None else _hookcalls.serve_call(self.name, self.target, name, headers, call)

    def _call(self, args: list[Any], kw: dict[str, Any]) -> Any:
        args, kw = self._prepare(args, kw)
        return self._finish(output_of(self.target(*args, **kw)), args)

    def _stream(self, args: list[Any], kw: dict[str, Any], reply: Reply) -> Any:
        """Send the deltas of the call as lines, and return its output (``reply.streamed`` says
        whether it streamed). A client that went away stops the generator (the output is then None)."""
        args, kw = self._prepare(args, kw)
        deltas = open_call(self.target, tuple(args), kw)
        count = 0
        try:
            while True:
                try:
                    delta = next(deltas)
                except StopIteration as end:
                    return self._finish(end.value, args)
                if delta is MARK:
                    reply.streamed = True
                    continue
                if not reply.line(codec.dumps_entry('delta', delta, f'delta {count}', self.max_depth) + b'\n'):
                    return None
                count += 1
        finally:
            deltas.close()

    def _queued(self, reply: Reply, queue: str, delta: Any) -> None:
        extra = {} if queue == DEFAULT else {'queue': queue}
        try:
            reply.line(codec.dumps_entry('queued', delta, f'a delta queued in {queue!r}', self.max_depth, **extra)
                       + b'\n')
        except CodecError as exc:
            _log.warning('%s: %s; it is not relayed to the caller', self.name, exc, extra={'lazyplug_app': self})

    def _prepare(self, args: list[Any], kw: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        if self.pre is None:
            return args, kw
        value = self.pre(*args, **kw)  # pre's result is the target's input, by the flows' rule
        if type(value) is package:
            return list(value), {}
        if type(value) is kwargs:
            return [], dict(value)
        return [value], {}

    def _finish(self, output: Any, args: list[Any]) -> Any:
        if self.post is None:
            return output
        original = args[0] if len(args) == 1 else package(args)
        return self.post(output, original) if self.post_takes_input else self.post(output)


def _method_output(method: Any, args: list[Any], kw: dict[str, Any]) -> Any:
    return output_of(method(*args, **kw))


def _positional_count(func: Any) -> int:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
