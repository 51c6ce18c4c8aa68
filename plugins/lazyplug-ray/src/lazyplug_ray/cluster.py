"""The connection to Ray: an existing cluster, or a local instance started for the application.

Deployments hold the connection (:func:`acquire` / :func:`release`). When this process was
already connected (``ray.init`` called by the application or its tests), that connection is used
and left as it is. Otherwise the plugin connects (the ``address`` option, else the ``ray_address``
setting ``LAZYPLUG_RAY_ADDRESS``, else a new local instance) and disconnects when its last
deployment stops, which also shuts down a local instance it started: nothing stays on the machine.
A ``working_dir`` given then is the job's (Ray uploads it, and every replica imports from it).
"""

from __future__ import annotations

import atexit
import logging
import threading

from lazyplug.errors import LaunchError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ['acquire', 'at_disconnect', 'release']

_lock = threading.Lock()
_users = 0
_exit_registered = False
_ours = False  # whether the plugin made the connection (and so ends it)
_shipped: str | None = None  # the working directory of the job the plugin connected as
_before_disconnect: list[Callable[[], None]] = []


def at_disconnect(stop_everything: Callable[[], None]) -> None:
    """Run ``stop_everything`` before the plugin's connection ends at interpreter exit."""
    _before_disconnect.append(stop_everything)


def acquire(address: str | None, working_dir: str | None = None) -> None:
    """Make sure this process is connected to Ray, and count one more deployment using it.

    ``working_dir``: the job's working directory, shipped to the cluster when the plugin connects;
    a connection made otherwise (by the application, or without it) cannot take it.
    """
    global _users, _ours, _shipped
    import ray
    with _lock:
        if not ray.is_initialized():
            _connect(address, working_dir)
            _ours, _shipped = True, working_dir
        elif working_dir and (not _ours or _shipped != working_dir):
            made = ('by the application (ray.init): give it runtime_env={"working_dir": ...} instead' if not _ours
                    else f'with working_dir={_shipped!r} by another ray launcher: a job has one')
            raise LaunchError(f'the ray launcher cannot ship working_dir={working_dir!r}: this process was '
                              f'connected to Ray already, {made}')
        _users += 1


def release() -> None:
    """One deployment less; the last one ends a connection the plugin made."""
    global _users, _ours, _shipped
    import ray
    with _lock:
        _users = max(_users - 1, 0)
        if _users or not _ours:
            return
        _ours, _shipped = False, None
        if ray.is_initialized():
            ray.shutdown()


def _connect(address: str | None, working_dir: str | None) -> None:
    global _exit_registered
    import ray
    job = {'runtime_env': {'working_dir': working_dir}} if working_dir else {}
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, **job)
        else:
            # a local instance for this application: no dashboard (a second of start-up and a web
            # server nobody asked for), and Ray's own start-up messages kept out of the user's output
            ray.init(include_dashboard=False, logging_level=logging.WARNING, **job)
    except Exception as exc:
        where = f'the Ray cluster at {address!r}' if address else 'a local Ray instance'
        raise LaunchError(f'the ray launcher could not connect to {where}: {type(exc).__name__}: {exc} '
                          '(set the address option or LAZYPLUG_RAY_ADDRESS to a running cluster, "auto" for '
                          'the one `ray start` made on this machine, or leave it empty for a local instance)') \
            from exc
    if not _exit_registered:
        # ray.init registered its own shutdown at exit just now, so this runs before it: the
        # services are stopped (and their port files removed) while the cluster can still be told to
        _exit_registered = True
        atexit.register(_stop_before_disconnect)


def _stop_before_disconnect() -> None:
    for stop in list(_before_disconnect):
        stop()
