"""A pre-warmed process that forks server processes: ``python -m lazyplug.serve --forkserver FD``.

Starting a server as a new interpreter costs about 0.2 s of CPU (mostly importing uvicorn); a
fork of a process that has imported it already costs a few milliseconds. The launcher starts one
fork server per process, on first use. For each server it creates the server's standard input
and output pipes itself and sends the server's ends, with the environment, working directory and
import path to use, over a Unix socket (``socket.send_fds``); the fork server forks, and the
child, in a process group of its own, becomes ``lazyplug.serve.process.main`` on those pipes.
So a forked server is bound to the launcher's process exactly as a spawned one: it exits when its
input pipe closes. The fork server exits when its own input closes, and reaps nothing: children
are reaped by the system (SIGCHLD ignored).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['serve_forever']

MAX_MESSAGE = 4 * 1024 * 1024


def _become_server(fds: list[int], setup: dict[str, Any]) -> None:
    os.setsid()
    os.dup2(fds[0], 0)
    os.dup2(fds[1], 1)
    os.dup2(fds[1], 2)
    for fd in fds:
        os.close(fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.chdir(str(setup['cwd']))
    os.environ.clear()
    os.environ.update(setup['env'])
    sys.path[:] = list(setup['path'])
    from .process import main
    main()


def serve_forever(control_fd: int) -> None:
    """Fork a server for every request on ``control_fd`` until standard input closes."""
    control = socket.socket(fileno=control_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked servers are reaped by the system
    import cloudpickle  # noqa: F401 - warm: what every server imports
    import uvicorn

    from . import app, codec, process, protocol  # noqa: F401
    # uvicorn imports its protocol, loop and lifespan classes when a server loads its config:
    # load one here, so that every forked server finds them imported
    uvicorn.Config(app.ServeApp(None), log_level='warning', access_log=False, lifespan='off',
                   http=protocol.DeadlineHttpToolsProtocol).load()
    while True:
        readable = select.select([control.fileno(), 0], [], [])[0]
        if 0 in readable and not os.read(0, 1):
            os._exit(0)  # the launcher's process closed the pipe, or died
        if control.fileno() not in readable:
            continue
        message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 2)
        if not message:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            control.close()
            _become_server(fds, json.loads(message))
            # the server has ended: this process exits as Python does (its atexit handlers run, as
            # in a server started afresh), never back into this loop; so does an exception
            raise SystemExit(0)
        for fd in fds:
            os.close(fd)
        control.sendall(struct.pack('>q', pid))
