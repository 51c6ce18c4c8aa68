"""ServerModule: deploys a module, flow or callable as a service during the deploy phase.

The service is started by a launcher (``lazyplug_launcher``) chosen per ServerModule or by the
``launcher`` setting.
"""

from __future__ import annotations

from .. import _hookcalls
from ..config import config
from ..errors import InvalidArgumentError, LauncherNotFoundError, LazyplugError
from ..flow.base import FlowBase
from ..reprs import make_repr
from .action import ActionModule
from .base import ModuleBase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['ServerModule']

class _ServerModuleImpl(ModuleBase):
    """The part of a ServerModule that deploys: its submodule is the served module."""

    def __init__(self, m: Any, pre: Any, post: Any, launcher: Any, port: int | None, num_replicas: int,
                 security_key: str | None) -> None:
        super().__init__()
        self._m = ActionModule(m) if isinstance(m, FlowBase) else m
        self._pre = pre
        self._post = post
        self._launcher = launcher
        self._port = port
        self._num_replicas = num_replicas
        self._security_key = security_key

    def _get_deploy_tasks(self) -> Any:
        return self._deploy

    def _deploy(self) -> None:
        name = self._launcher or config['launcher']
        launcher = _hookcalls.launcher(name, {})
        if launcher is None:
            raise LauncherNotFoundError(f'no installed plugin provides the launcher {name!r} '
                                        'that this ServerModule deploys with')

    def forward(self, *args: Any, **kw: Any) -> Any:
        raise LazyplugError(f'{self._m!r} is not served yet: start() the ServerModule first')


class ServerModule(ModuleBase):
    """Serve ``m`` (a module, flow or callable) as a service started in the deploy phase."""

    def __init__(self, m: Any = None, pre: Any = None, post: Any = None, stream: bool = False,
                 return_trace: bool = False, port: int | None = None, launcher: Any = None,
                 num_replicas: int = 1, security_key: str | bool | None = None, url: str | None = None) -> None:
        super().__init__(return_trace=return_trace)
        if m is None and url is None:
            raise InvalidArgumentError('ServerModule needs a module, flow or callable to serve, or url=')
        if m is not None and not callable(m):
            raise InvalidArgumentError(f'ServerModule serves a module, flow or callable, not {m!r}')
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise InvalidArgumentError(f'num_replicas must be a whole number of at least 1, not {num_replicas!r}')
        if security_key is True:
            import secrets
            security_key = 'sk-' + secrets.token_hex(16)
        self._stream = stream
        self._url = url
        self._impl = _ServerModuleImpl(m, pre, post, launcher, port, num_replicas, security_key or None)

    @property
    def _security_key(self) -> str | None:
        return self._impl._security_key

    def forward(self, *args: Any, **kw: Any) -> Any:
        return self._impl(*args, **kw)

    def __repr__(self) -> str:
        return make_repr('Module', 'Server', subs=[repr(self._impl._m)], name=self.name,
                         stream=self._stream, return_trace=self.return_trace)

