"""The init of a test network's machine (or switch): pid 1 of its namespaces (see :mod:`lazyplug.testbed`).

Run as ``python -I _testbed_init.py ROLE OWNER NAME DIRECTORY MARK`` by ``unshare``. A machine's
init names the machine and mounts its private files; every init then says ``ready`` on stdout and
reaps the processes orphaned on the machine until its lifeline (stdin, a pipe from the owner)
closes, and then ends, which ends every process of the machine. Standard library only.
"""

import os
import select
import signal
import socket
import subprocess
import sys


def main() -> None:
    role, _owner, name, directory = sys.argv[1:5]
    if role == 'machine':
        socket.sethostname(name)
        # /tmp last: the directory may be under the host's /tmp, which the machine's own then hides
        for source, target in ((directory + '/../hosts', '/etc/hosts'),
                               (directory + '/../resolv.conf', '/etc/resolv.conf'), (directory + '/tmp', '/tmp')):
            subprocess.run(['mount', '--bind', source, target], check=True)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=1777', 'tmpfs', '/dev/shm'], check=True)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    while True:
        readable = select.select([0, wake_r], [], [])[0]
        if 0 in readable and not os.read(0, 64):
            os._exit(0)  # the owner is gone: pid 1 ending ends every process of the machine
        if wake_r in readable:
            os.read(wake_r, 512)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass


if __name__ == '__main__':
    main()
