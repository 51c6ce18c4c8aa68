"""Which replicas this process could not reach, and the thread that probes them until they answer.

A replica (its base URL, ``http://host:port``) becomes *suspect* when a call could not reach it
(refused, connection timed out, its machine went silent) or lost it (the server died during the
call). The clients of this process then try the other replicas first, and a suspect only when
none of them takes the call, so that callers do not each wait for a machine that is gone.

A daemon thread, running only while there are suspects, probes each one (the ``probe`` given,
lazyplug's health check): 0.25 s after it became suspect, then at doubling intervals up to 5 s.
A suspect that answers a probe or a call is reachable again. One that has not answered for
``FORGET_AFTER`` seconds is forgotten (by then its address has usually been withdrawn from the
registry); should it be called again, it becomes suspect again.
"""

from __future__ import annotations

import os
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ['FORGET_AFTER', 'Reachability']

FORGET_AFTER = 300.0
_FIRST_PROBE = 0.25
_MOST_BETWEEN_PROBES = 5.0


class _Suspect:
    __slots__ = ('next_probe', 'pause', 'probing', 'since')

    def __init__(self, now: float) -> None:
        self.since = now
        self.pause = _FIRST_PROBE
        self.next_probe = now + _FIRST_PROBE
        self.probing = False


class Reachability:
    """The suspect replicas of this process; ``probe(base_url)`` tells whether one answers again."""

    def __init__(self, probe: Callable[[str], bool]) -> None:
        self._probe = probe
        self._suspects: dict[str, _Suspect] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._running = False
        os.register_at_fork(after_in_child=self._forget_all)  # the prober thread is not the child's

    def any(self) -> bool:
        """Whether any replica is suspect (the calls' fast path asks only this)."""
        return bool(self._suspects)

    def suspected(self, base: str) -> bool:
        """Whether ``base`` is suspect."""
        return base in self._suspects

    def unreachable(self, base: str) -> None:
        """A call could not reach ``base`` (or lost its reply): suspect it until it answers."""
        with self._lock:
            if base in self._suspects:
                return
            self._suspects[base] = _Suspect(time.monotonic())
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name='lazyplug-replica-probe', daemon=True).start()
        self._wake.set()

    def reached(self, base: str) -> None:
        """``base`` answered: it is reachable."""
        if base in self._suspects:
            with self._lock:
                self._suspects.pop(base, None)

    def _forget_all(self) -> None:
        self._suspects = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._running = False

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                for base in [b for b, s in self._suspects.items() if now - s.since > FORGET_AFTER]:
                    del self._suspects[base]
                if not self._suspects:
                    self._running = False
                    return
                due = [b for b, s in self._suspects.items() if s.next_probe <= now and not s.probing]
                for base in due:
                    self._suspects[base].probing = True
                waits = [s.next_probe - now for s in self._suspects.values() if not s.probing]
            for base in due:  # a thread each: a silent machine must not hold up the probes of the others
                threading.Thread(target=self._check, args=(base,), name='lazyplug-replica-probe', daemon=True).start()
            self._wake.wait(min(waits, default=_MOST_BETWEEN_PROBES))
            self._wake.clear()

    def _check(self, base: str) -> None:
        try:
            answered = self._probe(base)
        except Exception:  # a probe that fails for any reason is a No
            answered = False
        with self._lock:
            suspect = self._suspects.get(base)
            if suspect is None:
                return
            if answered:
                del self._suspects[base]
                return
            suspect.probing = False
            suspect.pause = min(suspect.pause * 2, _MOST_BETWEEN_PROBES)
            suspect.next_probe = time.monotonic() + suspect.pause
        self._wake.set()
