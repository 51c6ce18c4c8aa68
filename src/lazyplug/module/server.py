"""ServerModule and UrlModule: a module, flow or callable served over HTTP.

A ServerModule's deploy task hands what it serves to its launcher (the ``launcher`` argument or
setting: ``local`` child processes by default, ``thread`` in this process, others from plugins),
publishes the URLs in the service registry under the module's id, and from then on calling the
ServerModule calls the service. ``stop()`` ends the service and removes the entry. A
ServerModule given ``url=`` (or a ``UrlModule``) calls a service that is already running; as in
LazyLLM, ``ServerModule`` is a ``UrlModule``.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
import urllib.parse
import warnings

from ..config import config
from ..errors import InvalidArgumentError, LazyplugError, ServiceError
from ..factories import make_launcher
from ..flow.base import FlowBase
from ..interfaces import ReportsMoves
from ..reprs import make_repr
from ..streaming.stream import Stream, declares_stream, wants_stream
from .action import ActionModule
from .base import ModuleBase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..interfaces import ServiceRegistry
    from ..launchers.base import Deployment
    from ..serve.client import ServiceClient

__all__ = ['ServerModule', 'UrlModule']


_CALL_PATH = '/call'  # where ServiceClient.call posts a call (lazyplug.serve.client)
_publishing = threading.Lock()


def _check_url(url: Any) -> str:
    """The service's base URL, from itself or from the URL a call is posted to (``sm._url``)."""
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if (parts is None or parts.scheme not in ('http', 'https') or not parts.hostname or not parts.port
            or parts.path not in ('', '/', _CALL_PATH) or parts.query or parts.fragment):
        raise InvalidArgumentError(f'{url!r} is not the URL of a lazyplug service; expected http://host:port '
                                   f'or http://host:port{_CALL_PATH}')
    return f'{parts.scheme}://{parts.netloc}'


_ID = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,127}')


def _check_id(module_id: Any) -> str:
    if not isinstance(module_id, str) or not _ID.fullmatch(module_id):
        raise InvalidArgumentError(
            f'ServerModule id must be a string of 1 to 128 letters, digits, ".", "_" and "-" that starts with a '
            f'letter or digit (e.g. "digits-classifier"), not {module_id!r}')
    return module_id


def _check_serving(m: Any, methods: Any, ssl_certfile: Any, ssl_keyfile: Any) -> dict[str, Any]:
    """How ``m`` is served (``ServeSpec``'s options), checked: ``methods`` names methods of ``m``;
    the TLS files exist."""
    if m is None:
        if methods is not None or ssl_certfile is not None or ssl_keyfile is not None:
            raise InvalidArgumentError('methods=, ssl_certfile= and ssl_keyfile= say how a ServerModule serves its '
                                       'module; a ServerModule(url=...) serves nothing (give them where it is served)')
        return {}
    names = (methods,) if isinstance(methods, str) else tuple(methods or ())
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith('_'):
            raise InvalidArgumentError(f'methods must be names of public methods (["update", ...]), not {name!r}')
        if not callable(getattr(m, name, None)):
            raise InvalidArgumentError(f'methods: {_served_name(m)} has no method {name!r}')
    if ssl_keyfile is not None and ssl_certfile is None:
        raise InvalidArgumentError('ssl_keyfile is the key of the certificate in ssl_certfile: give both, or '
                                   'ssl_certfile alone if it holds the key too')
    for option, path in (('ssl_certfile', ssl_certfile), ('ssl_keyfile', ssl_keyfile)):
        if path is not None and not (isinstance(path, (str, os.PathLike)) and os.path.isfile(path)):
            raise InvalidArgumentError(f'{option} must be the path of a PEM file, not {path!r}')
    return {'methods': names, 'ssl_certfile': ssl_certfile and os.fspath(ssl_certfile),
            'ssl_keyfile': ssl_keyfile and os.fspath(ssl_keyfile)}


def _check_stream(stream: Any, return_trace: bool, post: Any) -> None:
    """LazyLLM's rules: a streaming ServerModule has no trace and no ``post``."""
    if type(stream) is not bool:
        raise InvalidArgumentError(f'stream must be True or False, not {stream!r} (LazyLLM\'s dict of prefix and '
                                   'colours is not provided)')
    if stream and return_trace:
        raise InvalidArgumentError('a ServerModule with stream=True has no trace: give stream=True or '
                                   'return_trace=True, not both (as in LazyLLM)')
    if stream and post is not None:
        raise InvalidArgumentError('a ServerModule with stream=True cannot have post=: its output is its deltas '
                                   'joined (as in LazyLLM); transform them in the served module')


def _served_name(m: Any) -> str:
    """How messages name the served ``m``: its class and name, or its qualified name."""
    if isinstance(m, ModuleBase):
        return f'{type(m).__name__} {m.name}' if m.name else type(m).__name__
    return getattr(m, '__qualname__', None) or type(m).__name__


def _check_arguments(m: Any, url: Any, *, id: Any, stream: Any, return_trace: bool, post: Any,  # noqa: A002
                     num_replicas: Any, port: Any, security_key: Any) -> tuple[Any, str | None, str | None]:
    """ServerModule's arguments checked: what it serves, the URL it calls, and its security key
    (``True`` made into a new one)."""
    if isinstance(m, str):  # a URL, as in LazyLLM's ServerModule(url)
        if url is not None:
            raise InvalidArgumentError(f'ServerModule got two URLs, {m!r} and url={url!r}: give one')
        m, url = None, m
    if (m is None) == (url is None):
        raise InvalidArgumentError('ServerModule takes a module, flow or callable to serve, or the url= of a '
                                   'running service (one of them)')
    if m is not None and not callable(m):
        raise InvalidArgumentError(f'ServerModule serves a module, flow or callable, not {m!r}')
    if id is not None:
        if url is not None:
            raise InvalidArgumentError(f'ServerModule(url=...) calls a running service and publishes nothing: '
                                       f'id={id!r} names a service this module deploys (give one of them)')
        _check_id(id)
    _check_stream(stream, return_trace, post)
    if not isinstance(num_replicas, int) or isinstance(num_replicas, bool) or num_replicas < 1:
        raise InvalidArgumentError(f'num_replicas must be a whole number of at least 1, not {num_replicas!r}')
    if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
        raise InvalidArgumentError(f'port must be a TCP port number (1-65535), not {port!r}')
    if security_key is True:
        security_key = 'sk-' + secrets.token_hex(16)
    if security_key is not None and (not isinstance(security_key, str) or not security_key
                                     or not all(33 <= ord(c) < 127 for c in security_key)):
        raise InvalidArgumentError('security_key must be a non-empty string of visible ASCII characters '
                                   '(it travels in an HTTP header), or True to generate one')
    return m, url, security_key


class _ServerModuleImpl(ModuleBase):
    """The part of a ServerModule that deploys; its submodule is the served module."""

    def __init__(self, m: Any, *, pre: Any, post: Any, launcher: Any, port: int | None, host: str,
                 num_replicas: int, security_key: str | None, url: str | None, label: str,
                 pythonpath: list[str], module_id: str | None = None, serving: dict[str, Any] | None = None) -> None:
        super().__init__(id=module_id)
        self._m = ActionModule(m) if isinstance(m, FlowBase) else m
        self._pre = pre
        self._post = post
        self._launcher = launcher
        self._port = port
        self._host = host
        self._num_replicas = num_replicas
        self._security_key = security_key
        self._preset_url = url
        self._urls: list[str] = [url] if url else []
        self._label = label
        self._pythonpath = pythonpath
        self._serving = serving or {}  # ServeSpec's options: methods, ssl_certfile, ssl_keyfile
        self._deployment: Deployment | None = None
        # where the running deployment is published, since when, and its log file
        self._published: tuple[ServiceRegistry, float, str] | None = None
        self._client: ServiceClient | None = None

    # -- deployment ----------------------------------------------------------------------------
    def _get_deploy_tasks(self) -> Any:
        if self._preset_url or (self._deployment is not None and not self._deployment.stopped):
            return None  # a running service is not started twice; restart() stops it first
        return self._deploy

    def _title(self) -> str:
        # this part is an internal of the ServerModule the user made: messages name that one
        m = self._m
        if m is None:
            return f'ServerModule({self._preset_url})'
        served = (m.name or type(m).__name__) if isinstance(m, ModuleBase) else (
            getattr(m, '__name__', None) or type(m).__name__)
        return f'ServerModule({served})'

    def _make_launcher(self) -> Any:
        launcher = self._launcher or config['launcher']
        if not isinstance(launcher, str):
            if not callable(getattr(launcher, 'launch', None)):
                raise InvalidArgumentError(f'launcher must be a launcher name or an object with launch(), '
                                           f'not {launcher!r}')
            return launcher
        return make_launcher(launcher, user=self._label)

    def _deploy(self) -> None:
        if self._deployment is not None:  # stopped behind this module's back (launchers.stop_all)
            self._on_stop()
        from ..serve.log import log_path
        from ..serve.process import ServeSpec
        log = os.path.abspath(log_path(config['home'], self._module_id))
        spec = ServeSpec(self._m, pre=self._pre, post=self._post, host=self._host, port=self._port,
                         security_key=self._security_key, name=self._label, pythonpath=self._pythonpath,
                         log_file=log, **self._serving)
        launcher = self._make_launcher()
        deployment = launcher.launch(spec, self._num_replicas)
        from ..services import get_registry
        self._deployment, self._client, self._published = deployment, None, (get_registry(), time.time(), log)
        try:
            if isinstance(deployment, ReportsMoves):  # replicas that can move: their new URLs are published
                deployment.on_urls_changed(lambda: self._republish(deployment))
            self._publish()
        except BaseException:
            self._deployment = self._published = None
            deployment.stop()
            raise
        if getattr(launcher, 'sync', False):  # LazyLLM's synchronous launchers: serve until the service ends
            try:
                deployment.wait()
            finally:
                self._on_stop()

    def _publish(self) -> None:
        """Publish the URLs the running deployment has now in the registry, and call them from now on."""
        from ..services import ServiceEntry
        with _publishing:  # the first publication and those of moved replicas, in order
            deployment, published = self._deployment, self._published
            if deployment is None or published is None:
                return
            urls = list(deployment.urls)
            registry, started, log = published
            registry.publish(ServiceEntry(self._module_id, urls, deployment.pids, started, self._label, os.getpid(),
                                          log=log))
            self._urls = urls
            client = self._client
            if client is not None:
                client.urls = urls

    def _republish(self, deployment: object, failed: int = 0) -> None:
        """``deployment``'s replicas moved: publish where they are now (while it is the one running)."""
        if self._deployment is not deployment:
            return
        try:
            self._publish()
        except Exception as exc:  # the registry may be down: try again, as long as this deployment runs
            if not failed:
                warnings.warn(f'{self._label}: its replicas moved, but publishing their URLs failed ({exc}); '
                              'trying again every second', RuntimeWarning, stacklevel=1)
            retry = threading.Timer(1.0, self._republish, (deployment, failed + 1))
            retry.daemon = True
            retry.start()

    def _on_stop(self) -> None:
        deployment, self._deployment = self._deployment, None
        if deployment is None:
            return
        published, self._published = self._published, None
        self._urls, self._client = [], None
        try:
            if published is not None:  # where it was published, whatever the registry setting is now
                published[0].remove(self._module_id)
        finally:
            deployment.stop()

    def _on_wait(self) -> None:
        if self._deployment is not None:
            self._deployment.wait()

    # -- calling -------------------------------------------------------------------------------
    def _service(self) -> ServiceClient:
        client = self._client
        if client is None:
            lookup = None if self._preset_url else self._published_urls
            if lookup is not None and self._deployment is None:
                # not deployed by this object (a copy in another process, or the id of a service deployed
                # elsewhere): called where the registry says it runs now, else where it ran when copied
                try:
                    self._urls = lookup() or self._urls
                except LazyplugError:
                    if not self._urls:
                        raise
                if not self._urls:
                    raise ServiceError(f'{self._label} is not running: start() it, or the module that holds it')
            from ..serve.client import ServiceClient
            client = self._client = ServiceClient(self._urls, self._security_key, self._label, lookup)
        return client

    def _published_urls(self) -> list[str] | None:
        """The URLs the registry lists for this module's service now; None if it lists none."""
        from ..services import get_registry
        entry = get_registry().lookup(self._module_id)
        return list(entry.urls) if entry is not None and entry.urls else None

    def forward(self, *args: Any, **kw: Any) -> Any:
        return self._service().call(args, kw)

    def __getstate__(self) -> dict[str, Any]:
        # a copy (in a server process, say) calls the running service; it does not own it
        state = dict(self.__dict__)
        state['_deployment'] = None
        state['_published'] = None
        state['_client'] = None
        return state


class UrlModule(ModuleBase):
    """Call a lazyplug service that is already running: ``UrlModule(url=..., security_key=...)``.

    ``url`` is the service's ``http://host:port`` or the URL calls are posted to (a ServerModule's
    ``_url``). As in LazyLLM, ``UrlModule(...)`` makes a ``ServerModule`` given ``url=``, and every
    ServerModule is a UrlModule.
    """

    _impl: _ServerModuleImpl
    _stream: bool

    def __new__(cls, *args: Any, **kw: Any) -> UrlModule:
        return ModuleBase.__new__(ServerModule if cls is UrlModule else cls)

    def __init__(self, url: str | None = None, *, security_key: str | None = None, stream: bool = False,
                 return_trace: bool = False) -> None:
        if not url:
            raise InvalidArgumentError('UrlModule needs the url= of a running service')
        ServerModule.__init__(self, url=url, security_key=security_key, stream=stream,  # type: ignore[arg-type]
                              return_trace=return_trace)

    @property
    def _url(self) -> str | None:
        """The URL a call is posted to (of the first replica), or None before start()."""
        return self._impl._urls[0] + _CALL_PATH if self._impl._urls else None

    @property
    def _urls(self) -> list[str]:
        """The base URLs (``http://host:port``) of every replica of the running service."""
        return list(self._impl._urls)

    @property
    def _security_key(self) -> str | None:
        return self._impl._security_key

    def _call(self, method_name: str, *args: Any, **kw: Any) -> Any:
        """Call the method ``method_name`` of the served object, in the server."""
        return self._impl._service().call_method(method_name, args, kw)

    def forward(self, *args: Any, **kw: Any) -> Any:
        if wants_stream(self):  # self.stream(...), or a streaming flow holding this module
            return Stream(self._impl._service().stream(args, kw))
        if self._stream:  # LazyLLM: the output, and the deltas on the caller's session stream queue
            return self._impl._service().call_queued(args, kw)
        return self._impl.forward(*args, **kw)

    def _lp_streams(self) -> bool:
        served = self._impl._m
        return self._stream or (served is not None and declares_stream(served))

    def __repr__(self) -> str:
        return make_repr('Module', 'Url', name=self.name, url=self._url, stream=self._stream,
                         return_trace=self.return_trace)


class ServerModule(UrlModule):
    """Serve ``m`` (a module, flow or callable) as a service started in the deploy phase.

    ``sm.stream(x)`` iterates the served module's deltas as the server produces them. With
    ``stream=True`` a plain call ``sm(x)`` returns the output (deltas joined) and puts the deltas
    on the caller's session stream queue (``lazyplug.FileSystemQueue``), as LazyLLM does; such a
    ServerModule has no ``post`` and no ``return_trace``.

    ``pre`` transforms the input and ``post`` the output (``post(output)`` or
    ``post(output, input)``), both in the server. ``num_replicas`` servers share the calls.
    ``security_key`` (``True``: generate one) is required of every caller. ``url`` (or a string
    ``m``) talks to a service that is already running instead. ``launcher`` is a launcher name or
    object; ``pythonpath`` (a path or a list) adds places the server process imports from.

    ``sm._call('name', ...)`` calls a public method the served object's own classes define;
    lazyplug's own (``update``, ``start``, ``stop``, hooks, ``evalset``, ``use_cache``...) only when
    named in ``methods=[...]``. ``ssl_certfile`` and ``ssl_keyfile`` (PEM files) serve over TLS
    only: the service's URLs are ``https://``, and callers verify its certificate (against the
    ``ca_file`` setting, or the system's authorities).

    ``id`` is the id the service is published under in the service registry (``lazyplug ps``
    shows it; ``lazyplug stop``/``call`` take it): by default a random one, new in each process.
    A stable id (``ServerModule(m, id='digits-classifier')``: letters, digits, ``.``, ``_``,
    ``-``) makes every process, on any machine, that deploys this module publish the same
    service: while one serves it, another's deploy fails with ``ServiceConflictError`` naming
    the running one, so it is deployed only once per registry.
    """

    def __init__(self, m: Any = None, pre: Any = None, post: Any = None, stream: bool = False,
                 return_trace: bool = False, port: int | None = None, pythonpath: Any = None, launcher: Any = None,
                 url: str | None = None, num_replicas: int = 1, security_key: str | bool | None = None,
                 host: str = '127.0.0.1', id: str | None = None, methods: Any = None,  # noqa: A002 - as ModuleBase's
                 ssl_certfile: Any = None, ssl_keyfile: Any = None) -> None:
        ModuleBase.__init__(self, return_trace=return_trace)
        m, url, security_key = _check_arguments(m, url, id=id, stream=stream, return_trace=return_trace, post=post,
                                                num_replicas=num_replicas, port=port, security_key=security_key)
        serving = _check_serving(m, methods, ssl_certfile, ssl_keyfile)
        self._stream = stream
        label = f'{_served_name(m)} served by ServerModule' if m is not None else f'the service at {url}'
        paths = [pythonpath] if isinstance(pythonpath, str) else list(pythonpath or [])
        self._impl = _ServerModuleImpl(m, pre=pre, post=post, launcher=launcher, port=port, host=host,
                                       num_replicas=num_replicas, security_key=security_key or None,
                                       url=_check_url(url) if url else None, label=label,
                                       pythonpath=paths, module_id=id, serving=serving)

    def __repr__(self) -> str:
        if self._impl._m is None:
            return super().__repr__()
        return make_repr('Module', 'Server', subs=[repr(self._impl._m)], name=self.name,
                         stream=self._stream, return_trace=self.return_trace)
