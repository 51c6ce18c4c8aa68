"""The log file of a service: where the errors its module raised are written, with their tracebacks.

Each deployed service has one, ``<home>/logs/<module id>.log`` (``log_path``), shared by its
replicas (each line names the process), private to the user (0600 in a 0700 directory). The
server process attaches a :class:`ServiceLog` to the ``lazyplug.serve`` logger for its app; the
app logs every exception its module raises there. A file past ``MAX_BYTES`` is renamed to
``<name>.1`` (replacing the previous one) and a new one is started. ``lazyplug logs ID`` prints
the end of it (``tail``); ``lazyplug ps`` says where it is.
"""

from __future__ import annotations

import collections
import logging
import os

from .._files import open_private, private_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['LOGGER', 'MAX_BYTES', 'ServiceLog', 'attach', 'detach', 'log_path', 'tail']

LOGGER = 'lazyplug.serve'
"""The logger the serve app reports its module's errors to."""

MAX_BYTES = 10 * 1024 * 1024
"""The size past which a log file is renamed to ``<name>.1`` and a new one started."""

_FORMAT = '%(asctime)s %(levelname)s [pid %(process)d] %(message)s'


def log_path(home: str, module_id: str) -> str:
    """The log file of the service ``module_id`` under the state directory ``home``."""
    return os.path.join(home, 'logs', f'{module_id}.log')


class ServiceLog(logging.Handler):
    """Appends the records of one app to its service's log file, opening the file for each record
    (errors are rare; no descriptor is held, and a file removed or rotated by hand is made again)."""

    def __init__(self, path: str, app: Any) -> None:
        super().__init__(logging.ERROR)
        self.path = path
        self.app = app
        self.setFormatter(logging.Formatter(_FORMAT))

    def filter(self, record: logging.LogRecord) -> bool:
        # several apps may serve from one process (the thread launcher): each file gets its own app's records
        return getattr(record, 'lazyplug_app', None) is self.app and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = (self.format(record) + '\n').encode('utf-8', 'backslashreplace')
            private_dir(os.path.dirname(self.path))
            try:
                if os.path.getsize(self.path) + len(text) > MAX_BYTES:
                    os.replace(self.path, self.path + '.1')
            except FileNotFoundError:
                pass
            fd = open_private(self.path, 'ab')
            try:
                os.write(fd, text)  # one write of an O_APPEND file: replicas' lines do not interleave
            finally:
                os.close(fd)
        except Exception:
            self.handleError(record)


def attach(path: str | None, app: Any) -> ServiceLog | None:
    """Write ``app``'s errors to the log file ``path`` from now on (nothing when ``path`` is None)."""
    if not path:
        return None
    handler = ServiceLog(path, app)
    logger = logging.getLogger(LOGGER)
    if logger.getEffectiveLevel() > logging.ERROR:
        logger.setLevel(logging.ERROR)
    logger.addHandler(handler)
    return handler


def detach(handler: ServiceLog | None) -> None:
    """Stop writing to the log file of ``handler`` (what ``attach`` returned)."""
    if handler is not None:
        logging.getLogger(LOGGER).removeHandler(handler)
        handler.close()


def tail(path: str, lines: int) -> list[str]:
    """The last ``lines`` lines of the log file ``path`` (reaching into ``<path>.1`` when it is short)."""
    last: collections.deque[str] = collections.deque(maxlen=lines)
    for name in (path + '.1', path):
        try:
            with open(name, encoding='utf-8', errors='replace') as f:
                last.extend(line.rstrip('\n') for line in f)
        except FileNotFoundError:
            pass
    return list(last)
