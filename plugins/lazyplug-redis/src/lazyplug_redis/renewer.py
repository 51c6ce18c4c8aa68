"""The thread that keeps a Redis registry's entries alive: each entry expires unless renewed.

One :class:`Renewer` per registry object holds the entries that object published in this process.
Its daemon thread starts with the first entry, renews all of them every ``interval`` seconds in
one round trip, and ends when the last one is removed, when the registry is closed, or at
interpreter exit (which also removes the entries: the process's services stop with it). A Redis
that does not answer is retried at the next interval (a warning says so once per outage); an
entry found taken over or removed by another process is no longer renewed.
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings

from lazyplug.errors import LazyplugError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection

__all__ = ['Owned', 'Renewer']

Owned = tuple[bytes, bytes, float]
"""What is renewed for one module id: the owner token, the stored record and its start time."""


class Renewer:
    """Renews ``renew(owned)`` every ``interval`` s while there are owned entries; ``renew`` returns
    the module ids no longer to renew. ``describe`` names the registry in warnings."""

    def __init__(self, renew: Callable[[dict[str, Owned]], Collection[str]], interval: float, describe: str,
                 release: Callable[[list[str]], None]) -> None:
        self.interval = interval
        self._renew = renew
        self._release = release
        self._describe = describe
        self._owned: dict[str, Owned] = {}
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None  # the running thread's; None when no thread runs
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._at_exit = False

    def _locked(self) -> threading.Lock:
        if self._pid != os.getpid():  # a forked child: its parent's entries and thread are not its own
            self._lock, self._owned, self._stop, self._thread = threading.Lock(), {}, None, None
            self._pid = os.getpid()
        return self._lock

    def owned(self) -> dict[str, Owned]:
        """A copy of the entries being renewed, by module id."""
        with self._locked():
            return dict(self._owned)

    @property
    def running(self) -> bool:
        """Whether the renewing thread runs."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def add(self, module_id: str, owned: Owned) -> None:
        """Renew ``module_id`` from now on (replacing what was renewed for it); start the thread if need be."""
        with self._locked():
            self._owned[module_id] = owned
            if self._stop is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                                name=f'lazyplug-redis renewer ({self._describe})')
                self._thread.start()
                if not self._at_exit:
                    atexit.register(self._exit)
                    self._at_exit = True

    def discard(self, module_id: str, only: Owned | None = None) -> None:
        """Stop renewing ``module_id`` (with ``only``: if it is still that); the thread ends with the last one."""
        with self._locked():
            if only is None or self._owned.get(module_id) == only:
                self._owned.pop(module_id, None)
            if not self._owned and self._stop is not None:
                self._stop.set()
                self._stop = self._thread = None

    def close(self) -> None:
        """Stop renewing everything, and wait (briefly) for the thread to end."""
        with self._locked():
            self._owned.clear()
            stop, thread = self._stop, self._thread
            self._stop = self._thread = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.interval + 1)

    def _exit(self) -> None:
        # this process's services stop as it exits: their entries go now, not when they expire
        with self._locked():
            owned = list(self._owned)
        self.close()
        if owned:
            try:
                self._release(owned)
            except LazyplugError as exc:
                warnings.warn(f'lazyplug-redis could not remove the entries of {self._describe} at exit '
                              f'(they expire on their own): {exc}', RuntimeWarning, stacklevel=1)

    def _run(self, stop: threading.Event) -> None:
        failing = False
        while not stop.wait(self.interval):
            owned = self.owned()
            if not owned:
                continue  # discard() sets the event; this turn only saw the emptying happen first
            try:
                lost = self._renew(owned)
            except LazyplugError as exc:
                if not failing:
                    warnings.warn(f'lazyplug-redis could not renew the entries of {self._describe} '
                                  f'(retrying every {self.interval:g} s): {exc}', RuntimeWarning, stacklevel=1)
                failing = True
                continue
            if failing:
                warnings.warn(f'lazyplug-redis renews the entries of {self._describe} again', RuntimeWarning,
                              stacklevel=1)
                failing = False
            for module_id in lost:
                self.discard(module_id, only=owned[module_id])
