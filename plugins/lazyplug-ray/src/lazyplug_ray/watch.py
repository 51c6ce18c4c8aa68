"""Following the replicas of a service through Ray, so that its published URLs stay true.

Ray restarts a replica whose process or node died, and on another node it listens at another
address. A :class:`ReplicaWatch` keeps a call pending on each replica (``serving()``, which
returns only when its server stops). When Ray fails that call (the replica's process or node
died, or Ray cannot reach it), the replica's URL is withdrawn; the watch then asks the replica
``ready()``, which Ray runs once the replica runs again, wherever it does, and which answers
with its address: the URL is back, new or not. Each change is reported to ``changed(urls)``,
which publishes it (the deployment's listeners: see ``lazyplug.launchers.base.Deployment``).

How soon Ray tells: at once when the replica's process ends and its machine stays up (its
connections are closed); when a machine dies or drops off the network, once Ray's health checks
mark the node dead (``RAY_health_check_*`` of the head node: see the README).
"""

from __future__ import annotations

import threading
import time
import warnings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['ReplicaWatch']

_PAUSE = 0.2  # seconds between two ready() calls of a replica that Ray has not restarted yet


class ReplicaWatch:
    """Watch ``actors`` (serving at ``urls``, one each) from a daemon thread until :meth:`stop`;
    ``changed(urls)`` gets the URLs of the replicas that serve, each time they change."""

    def __init__(self, actors: list[Any], urls: list[str], scheme: str, ready_timeout: float,
                 changed: Callable[[list[str]], None], name: str) -> None:
        self._actors = actors
        self._urls: list[str | None] = list(urls)
        self._scheme = scheme
        self._ready_timeout = ready_timeout
        self._changed = changed
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f'lazyplug-ray watch ({name})', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (before the replicas are ended: their end is not a change to report)."""
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import ray
        from ray.exceptions import ActorDiedError, RayError

        pending: dict[Any, tuple[int, bool]] = {}  # ObjectRef -> (replica, whether it is a ready() call)
        later: list[tuple[float, int]] = []  # (when, replica): ready() to ask again
        for index, actor in enumerate(self._actors):
            pending[actor.serving.remote()] = (index, False)
        while not self._stopped.is_set() and (pending or later):
            now = time.monotonic()
            for when, index in [item for item in later if item[0] <= now]:
                later.remove((when, index))
                pending[self._actors[index].ready.remote(self._ready_timeout)] = (index, True)
            if not pending:
                self._stopped.wait(_PAUSE)
                continue
            done, _ = ray.wait(list(pending), num_returns=1, timeout=_PAUSE)
            for ref in done:
                index, readying = pending.pop(ref)
                try:
                    answer = ray.get(ref)
                except ActorDiedError:  # for good: Ray will not restart it (max_restarts reached)
                    self._set(index, None)
                except RayError:  # its process or node died (being restarted), or Ray cannot reach it
                    self._set(index, None)
                    later.append((time.monotonic() + (_PAUSE if readying else 0), index))
                else:
                    if readying:
                        host, port, _ = answer
                        self._set(index, f'{self._scheme}://{host}:{port}')
                        pending[self._actors[index].serving.remote()] = (index, False)
                    # else: serving() returned, the server was shut down: the service is being stopped

    def _set(self, index: int, url: str | None) -> None:
        if self._urls[index] == url or self._stopped.is_set():
            return
        self._urls[index] = url
        try:
            self._changed([u for u in self._urls if u is not None])
        except Exception as exc:  # a listener's failure must not end the watch
            warnings.warn(f'lazyplug-ray: reporting that the replicas now serve at {self._urls} failed: {exc!r}',
                          RuntimeWarning, stacklevel=1)
