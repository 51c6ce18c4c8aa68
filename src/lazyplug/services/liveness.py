"""Whether a process of this machine is still running: the liveness test of service registries.

Registries and the command line use it; plugin registries too.

* A registry records each serving process's start time beside its id (``start_time``: on Linux,
  field 22 of ``/proc/<pid>/stat``, in clock ticks since boot). A process id the system has
  since given to another process then keeps no dead entry alive.
* Where the start time cannot be read (other systems, an entry written without it), the test
  asks whether a process with that id exists.
* Process ids mean something only where they were recorded. ``node_id`` names that place: a
  machine and its process-id namespace.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from . import ServiceEntry

__all__ = ['alive', 'any_alive', 'entry_alive', 'node_id', 'runs_here', 'stamp', 'start_time', 'start_times']

_PROC = sys.platform.startswith('linux') and os.path.exists('/proc/self/stat')
_node: str | None = None


def node_id() -> str:
    """This process's machine and process-id namespace: two processes with equal node ids see the
    same process ids. On Linux the kernel's boot id and the pid namespace; elsewhere the host name."""
    global _node
    if _node is None:
        try:
            with open('/proc/sys/kernel/random/boot_id') as f:
                _node = f'{f.read().strip()}/{os.readlink("/proc/self/ns/pid")}'
        except OSError:
            import socket
            _node = socket.gethostname()
    return _node


def runs_here(entry: ServiceEntry) -> bool:
    """Whether ``entry``'s process ids are this machine's: its ``node`` is this process's.

    A registry such as Redis is shared by several machines, whose loopback URLs look alike. An
    entry without a node (written by an older lazyplug) is never taken for this machine's.
    """
    return bool(entry.node) and entry.node == node_id()


def _stat(pid: int) -> tuple[str, int] | None:
    """The state letter and the start time of ``pid`` from ``/proc/<pid>/stat``, or None if there is
    no such process. Raises OSError when /proc does not let this user see it."""
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):  # no such process (or it exited while being read)
        return None
    # field 2, the command name, is in parentheses and may itself hold spaces and parentheses:
    # the fields after it start after the last ')'; there, field 3 (state) is at index 0, field 22 at 19
    fields = data[data.rfind(b')') + 1:].split()
    try:
        return fields[0].decode('ascii', 'replace'), int(fields[19])
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """The start time of process ``pid`` (Linux: clock ticks since boot), or None when unknown."""
    if not _PROC or pid <= 0:
        return None
    try:
        stat = _stat(pid)
    except OSError:
        return None
    return None if stat is None else stat[1]


def start_times(pids: Iterable[int]) -> list[int | None]:
    """``start_time`` of each of ``pids``, to be recorded with them."""
    return [start_time(pid) for pid in pids]


def alive(pid: int, started: int | None = None) -> bool:
    """Whether ``pid`` is a running process of this machine, and (when ``started`` is given and
    the system says) the same process that had start time ``started``. A zombie is not running."""
    if pid <= 0:
        return False
    if _PROC:
        try:
            stat = _stat(pid)
        except OSError:  # /proc hides it (mounted with hidepid): ask the other way
            pass
        else:
            if stat is None:
                return False
            state, now_started = stat
            if state in ('Z', 'X', 'x'):  # exited, not yet (or being) reaped
                return False
            return started is None or started == now_started
    if sys.platform == 'win32':
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)
    except PermissionError:  # it exists, it belongs to someone else
        return True
    except (OSError, OverflowError):  # ProcessLookupError: there is none
        return False
    return True


def any_alive(pids: Sequence[int], starts: Sequence[int | None] | None = None) -> bool:
    """Whether at least one of ``pids`` is alive (``starts``: their recorded start times, if any)."""
    if starts is None or len(starts) != len(pids):
        starts = [None] * len(pids)
    return any(alive(pid, started) for pid, started in zip(pids, starts, strict=True))


if sys.platform == 'win32':
    def _alive_windows(pid: int) -> bool:
        # os.kill(pid, 0) would send CTRL_C_EVENT there: ask for the process's exit code instead
        import ctypes
        kernel32 = ctypes.WinDLL('kernel32', use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return bool(ctypes.get_last_error() == 5)  # ERROR_ACCESS_DENIED: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return False
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)


def stamp(entry: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``entry`` (a ServiceEntry's ``to_dict()``) with ``pid_starts``, the start time of each of its pids."""
    record = {key: list(value) if isinstance(value, list) else value for key, value in entry.items()}
    record['pid_starts'] = start_times(record['pids'])
    return record


def entry_alive(record: dict[str, Any]) -> bool:
    """Whether a record made by ``stamp`` names at least one process that still runs."""
    return any_alive(record['pids'], record.get('pid_starts'))
