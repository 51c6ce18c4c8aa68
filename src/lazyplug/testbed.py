"""Several machines on one Linux host, for tests and benchmarks of what spans machines.

A :class:`Network` is a private network of :class:`Machine` objects. Each machine is a set of
Linux namespaces held by one small init process:

* its own network stack: ``lo`` and ``eth0``, with its own address on the network's subnet, and a
  default route through ``eth0`` (as a real machine has one) that leads nowhere else;
* its own host name and process ids (so lazyplug's node id differs between machines);
* its own ``/tmp`` and ``/dev/shm`` (Ray's object store), an ``/etc/hosts`` that names every
  machine of the network, and an empty ``/etc/resolv.conf``; the rest of the file system is the
  host's (the same Python, virtual environment and working tree).

The machines' ``eth0`` are wired to one bridge in a namespace of its own: the host's own network
is never touched, no machine can reach anything but the network's machines, and two networks on
one host (two test runs) never see each other, whatever their subnets. Machines know each other's
hardware addresses (permanent neighbour entries), so a machine whose link is down is silent:
connecting to it times out rather than failing at once.

Everything ends with :meth:`Network.close` (or the ``with`` block): each machine's init is killed,
and the kernel then kills every process of its process-id namespace, whatever started it; the
namespaces, the bridge and the virtual links go with their last process. If the owning process
dies without closing, the init processes see their lifeline pipe close and end the same way; a new
``Network`` also ends the leftovers of a network whose owner died, and removes their directories.

It needs root, Linux, iproute2's ``ip`` and util-linux's ``unshare`` and ``nsenter``
(:func:`unavailable_reason` says what is missing). The pytest fixture ``lazyplug_network`` wraps it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from .errors import InvalidArgumentError, LazyplugError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = ['Background', 'Machine', 'Network', 'NetworkError', 'end_leftovers', 'processes_in', 'unavailable_reason']

DEFAULT_SUBNET = '10.251.0.0/24'
_MARK = 'lazyplug-testbed'  # in the command line of every init process, and in every directory's name
_NAME = re.compile(r'[a-z][a-z0-9-]{0,30}')
_TOOLS = ('ip', 'unshare', 'nsenter', 'mount')

# pid 1 of each machine (and of the switch); the command line names it, and leftovers are found by it
_INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_testbed_init.py')


_lifelines: set[int] = set()  # the write ends this process holds; a forked child must not keep them


def _close_lifelines() -> None:
    for fd in _lifelines:
        os.close(fd)
    _lifelines.clear()


os.register_at_fork(after_in_child=_close_lifelines)


class NetworkError(LazyplugError, RuntimeError):
    """The test network cannot be built or used here; the message says why."""


def unavailable_reason() -> str | None:
    """Why a :class:`Network` cannot run on this host (not Linux, not root, a tool missing), or None."""
    if not sys.platform.startswith('linux'):
        return f'the test network needs Linux namespaces (this is {sys.platform})'
    if os.geteuid() != 0:
        return 'the test network needs root (it creates namespaces, a bridge and virtual links)'
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        return (f'the test network needs {", ".join(missing)} on PATH '
                "(Debian: apt-get install iproute2 util-linux)")
    return None


class Background:
    """A process started in the background on a machine; its output (stdout and stderr) goes to a log file.

    ``popen`` is ``nsenter`` on the host, whose child (``pid``, as the host numbers it) runs ``args``
    on the machine; ``nsenter`` ends with it and with its exit status.
    """

    def __init__(self, popen: subprocess.Popen[bytes], log_path: str, args: Sequence[str]) -> None:
        self.popen = popen
        self.log_path = log_path
        self.args = list(args)
        self.pid = _child_of(popen)  # None: it ended at once

    def output(self) -> str:
        """What the process has written so far."""
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def running(self) -> bool:
        """Whether the process is still running."""
        return self.popen.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to end; its exit status."""
        return self.popen.wait(timeout)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the process (SIGTERM: ask it to end)."""
        if self.popen.poll() is None and self.pid is not None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """Kill the process and everything in its process group, and wait for it."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.popen.wait()

    def __repr__(self) -> str:
        return f'<Background {" ".join(self.args)!r} {"running" if self.running() else "ended"}>'


class _Holder:
    """One init process holding namespaces: started through ``unshare``, found by its parent."""

    def __init__(self, role: str, name: str, directory: str, flags: Sequence[str], lifeline: int,
                 owner: str) -> None:
        self.popen = subprocess.Popen(
            ['unshare', *flags, '--fork', '--kill-child', '--', sys.executable, '-I', _INIT, role, owner, name,
             directory, _MARK], stdin=lifeline, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)  # a Ctrl-C of the test run reaches the owner, which then closes the network
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline()
        if line != b'ready\n':
            self.popen.kill()
            _, err = self.popen.communicate()
            raise NetworkError(f'the init of {role} {name!r} did not start: {err.decode(errors="replace").strip()}')
        self.popen.stdout.close()
        pid = _child_of(self.popen)
        if pid is None:
            raise NetworkError(f'the init of {role} {name!r} ended at once')
        self.pid = pid
        self.net_ns = os.readlink(f'/proc/{self.pid}/ns/net')

    def enter(self, *namespaces: str) -> list[str]:
        """The ``nsenter`` command line that enters this holder's ``namespaces``."""
        return ['nsenter', '--target', str(self.pid), *[f'--{ns}' for ns in namespaces]]

    def kill(self) -> None:
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)  # pid 1 of a namespace can be killed from outside it
            except ProcessLookupError:
                pass
            self.popen.kill()
        self.popen.wait()
        if self.popen.stderr is not None:
            self.popen.stderr.close()


def _child_of(popen: subprocess.Popen[bytes]) -> int | None:
    """The one child of ``popen`` (what ``unshare --fork`` or ``nsenter --pid`` started), None if
    ``popen`` has ended."""
    pid = popen.pid
    while popen.poll() is None:
        try:
            with open(f'/proc/{pid}/task/{pid}/children') as f:
                children = f.read().split()
        except OSError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.002)
    return None


class Machine:
    """One machine of a :class:`Network`: ``name`` (its host name), ``address`` (on the network),
    ``pid`` (its init process, pid 1 on the machine), ``directory`` (on the host, where its ``/tmp`` is)."""

    def __init__(self, network: Network, name: str, address: str, index: int) -> None:
        self.network = network
        self.name = name
        self.address = address
        self.index = index
        self.mac = f'02:4c:50:{index >> 16 & 255:02x}:{index >> 8 & 255:02x}:{index & 255:02x}'
        self.port = f'port{index}'  # its link's end on the bridge
        self.directory = os.path.join(network.directory, name)
        os.makedirs(os.path.join(self.directory, 'tmp', 'home'))
        os.makedirs(os.path.join(self.directory, 'logs'))
        self._holder = _Holder('machine', name, self.directory, ['--net', '--uts', '--mount', '--pid', '--mount-proc'],
                               network._lifeline, network._owner)
        self.pid = self._holder.pid
        self._background: list[Background] = []

    def __repr__(self) -> str:
        return f'<Machine {self.name} {self.address}>'

    def environment(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a process on this machine: the host's, without its lazyplug and Ray
        settings or temporary directory, with a home of the machine's own (``/tmp/home``), and ``env``."""
        base = {key: value for key, value in os.environ.items()
                if not key.startswith(('LAZYPLUG_', 'RAY_')) and key not in ('TMPDIR', 'HOSTNAME', 'HOME')}
        return {**base, 'HOME': '/tmp/home', 'HOSTNAME': self.name, **(env or {})}

    def command(self, args: Sequence[str], cwd: str | None = None) -> list[str]:
        """The command line that runs ``args`` on this machine, in ``cwd`` as the machine sees it
        (default: this process's working directory, which must not be under the host's ``/tmp``)."""
        if isinstance(args, str):
            raise InvalidArgumentError(f'args must be a list of strings, not the string {args!r}')
        return [*self._holder.enter('net', 'uts', 'mount', 'pid'), f'--wdns={cwd or os.getcwd()}', '--', *args]

    def run(self, args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
            timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``args`` on this machine and wait; its output is captured as text. With ``check``, a
        non-zero exit raises :class:`NetworkError` with the output."""
        result = subprocess.run(self.command(args, cwd), env=self.environment(env), capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
        if check and result.returncode:
            raise NetworkError(f'{" ".join(args)!r} on {self.name} exited with {result.returncode}:\n'
                               f'{result.stdout}{result.stderr}')
        return result

    def start(self, args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
              name: str | None = None) -> Background:
        """Start ``args`` on this machine in the background; killed when the network closes, if not before.
        Its output goes to ``logs/<name>.log`` in the machine's directory (default name: the program's)."""
        name = name or os.path.basename(args[0])
        log_path = os.path.join(self.directory, 'logs', f'{name}-{len(self._background)}.log')
        with open(log_path, 'wb') as log:
            popen = subprocess.Popen(self.command(args, cwd), env=self.environment(env), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process = Background(popen, log_path, args)
        self._background.append(process)
        return process

    def wait_listening(self, port: int, timeout: float = 30) -> None:
        """Wait until something on this machine accepts connections at its address and ``port``;
        :class:`NetworkError` after ``timeout`` seconds."""
        code = ('import socket, sys, time\n'
                'deadline = time.monotonic() + float(sys.argv[3])\n'
                'while True:\n'
                '    try:\n'
                '        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()\n'
                '        break\n'
                '    except OSError:\n'
                '        if time.monotonic() > deadline:\n'
                '            sys.exit(1)\n'
                '        time.sleep(0.02)\n')
        result = self.run([sys.executable, '-I', '-c', code, self.address, str(port), str(timeout)], check=False,
                          timeout=timeout + 30)
        if result.returncode:
            raise NetworkError(f'nothing accepted connections at {self.address}:{port} on {self.name} within '
                               f'{timeout:g} s')

    def link_down(self) -> None:
        """Unplug the machine from the network: its packets are dropped both ways, and connecting to it
        times out (its processes keep running and its address stays)."""
        self.network._switch_ip('link', 'set', self.port, 'down')

    def link_up(self) -> None:
        """Plug the machine in again."""
        self.network._switch_ip('link', 'set', self.port, 'up')

    def crash(self) -> None:
        """Kill every process of the machine at once, as a power cut would; the machine stays, empty,
        and runs commands again (as after a reboot)."""
        # from inside, kill -1 reaches every process of the machine but init and the kill itself
        subprocess.run(self.command([sys.executable, '-I', '-c', 'import os; os.kill(-1, 9)']),
                       env=self.environment(), capture_output=True, timeout=30)
        for process in self._background:
            process.popen.wait()

    def ip(self, *args: str) -> str:
        """Run ``ip args`` in the machine's network namespace; its output."""
        return _ip(self._holder.enter('net'), args)

    def path(self, inside: str) -> str:
        """The host's path of ``inside``, a path under the machine's ``/tmp``."""
        relative = os.path.relpath(inside, '/tmp')
        if relative.startswith('..'):
            raise InvalidArgumentError(f'{inside!r} is not under /tmp, the machine\'s own directory')
        return os.path.join(self.directory, 'tmp', relative)

    def _close(self) -> None:
        self._holder.kill()
        for process in self._background:
            process.kill()


def _ip(enter: list[str], args: Sequence[str]) -> str:
    result = subprocess.run([*enter, 'ip', *args], capture_output=True, text=True, timeout=30)
    if result.returncode:
        raise NetworkError(f'ip {" ".join(args)} failed: {result.stderr.strip()}')
    return result.stdout


class Network:
    """A private network of machines on this host, on ``subnet`` (IPv4; the machines take its
    addresses in turn, from the first); closed by :meth:`close` or at the end of a ``with`` block."""

    def __init__(self, subnet: str = DEFAULT_SUBNET) -> None:
        reason = unavailable_reason()
        if reason:
            raise NetworkError(reason)
        try:
            self.subnet = ipaddress.IPv4Network(subnet)
        except ValueError as exc:
            raise InvalidArgumentError(f'subnet={subnet!r} is not an IPv4 network such as {DEFAULT_SUBNET!r}') \
                from exc
        if not self.subnet.is_private or self.subnet.num_addresses < 4:
            raise InvalidArgumentError(f'subnet={subnet!r} must be a private IPv4 network with room for 2 machines or '
                                       f'more (a /30 or larger), such as {DEFAULT_SUBNET!r}')
        end_leftovers()
        self._addresses = iter(self.subnet.hosts())
        self.machines: dict[str, Machine] = {}
        self._count = 0
        self._owner = f'{os.getpid()}:{_start_time(os.getpid())}'
        self.directory = tempfile.mkdtemp(prefix=f'{_MARK}-{os.getpid()}-{uuid.uuid4().hex[:6]}-')
        for name, text in (('hosts', ''), ('resolv.conf', '# the test network has no name server\n')):
            with open(os.path.join(self.directory, name), 'w') as f:
                f.write(text)
        read, self._lifeline_w = os.pipe()
        self._lifeline = read
        _lifelines.add(self._lifeline_w)
        try:
            self._switch = _Holder('switch', 'switch', self.directory, ['--net'], read, self._owner)
            self._switch_ip('link', 'add', 'bridge', 'type', 'bridge')
            self._switch_ip('link', 'set', 'bridge', 'up')
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f'<Network {self.subnet} {list(self.machines)}>'

    def machine(self, name: str) -> Machine:
        """Add a machine called ``name`` (its host name: lower-case letters, digits, '-') to the network."""
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidArgumentError(f'machine name {name!r} is not valid: a lower-case letter, then up to 30 '
                                       "lower-case letters, digits or '-'")
        if name in self.machines:
            raise InvalidArgumentError(f'the network has a machine called {name!r} already')
        address = next(self._addresses, None)
        if address is None:
            raise InvalidArgumentError(f'the subnet {self.subnet} has no address left for machine {name!r}')
        self._count += 1  # never reused: a machine that failed to wire may have left its port on the bridge
        machine = Machine(self, name, str(address), self._count)
        self.machines[name] = machine
        try:
            self._wire(machine)
        except BaseException:
            del self.machines[name]
            machine._close()
            raise
        return machine

    def _wire(self, machine: Machine) -> None:
        self._switch_ip('link', 'add', machine.port, 'type', 'veth', 'peer', 'name', 'eth0', 'address', machine.mac,
                        'netns', str(machine.pid))
        self._switch_ip('link', 'set', machine.port, 'master', 'bridge', 'up')
        prefix = self.subnet.prefixlen
        for args in (('link', 'set', 'lo', 'up'), ('addr', 'add', f'{machine.address}/{prefix}', 'dev', 'eth0'),
                     ('link', 'set', 'eth0', 'up'), ('route', 'add', 'default', 'dev', 'eth0')):
            machine.ip(*args)
        for other in self.machines.values():
            if other is not machine:
                other.ip('neigh', 'replace', machine.address, 'lladdr', machine.mac, 'dev', 'eth0', 'nud', 'permanent')
                machine.ip('neigh', 'replace', other.address, 'lladdr', other.mac, 'dev', 'eth0', 'nud', 'permanent')
        hosts = ['127.0.0.1 localhost', '::1 localhost'] + [f'{m.address} {m.name}' for m in self.machines.values()]
        with open(os.path.join(self.directory, 'hosts'), 'r+') as f:  # in place: the machines bind-mount this file
            f.truncate()
            f.write('\n'.join(hosts) + '\n')

    def _switch_ip(self, *args: str) -> str:
        return _ip(self._switch.enter('net'), args)

    def namespaces(self) -> set[str]:
        """The network namespaces of the switch and the machines (``net:[inode]``)."""
        holders = [self._switch] if hasattr(self, '_switch') else []
        return {h.net_ns for h in [*holders, *(m._holder for m in self.machines.values())]}

    def close(self) -> None:
        """End every process of every machine, and remove the namespaces, links and directories."""
        if self._lifeline_w < 0:
            return
        _lifelines.discard(self._lifeline_w)
        os.close(self._lifeline_w)
        os.close(self._lifeline)
        self._lifeline_w = -1
        namespaces = self.namespaces()
        for machine in self.machines.values():
            machine._close()
        if hasattr(self, '_switch'):
            self._switch.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
        deadline = time.monotonic() + 10
        while processes_in(namespaces) and time.monotonic() < deadline:
            time.sleep(0.01)
        left = processes_in(namespaces)
        if left:
            raise NetworkError(f'processes still on the network after it closed: {left}')


def processes_in(namespaces: set[str]) -> list[int]:
    """The ids of the processes in any of the network ``namespaces`` (``'net:[inode]'``)."""
    found = []
    for entry in os.listdir('/proc'):
        try:
            if entry.isdigit() and os.readlink(f'/proc/{entry}/ns/net') in namespaces:
                found.append(int(entry))
        except OSError:
            continue
    return found


def _start_time(pid: int) -> str:
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            return f.read().rsplit(b')', 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ''


def _owner_alive(owner: str) -> bool:
    pid, _, started = owner.partition(':')
    return pid.isdigit() and _start_time(int(pid)) == started


def end_leftovers() -> list[int]:
    """Kill the init processes of networks whose owner died without closing them, and remove the
    directories of such networks; the process ids killed."""
    killed = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                argv = f.read().decode(errors='replace').split('\0')
        except OSError:
            continue
        # python -I INIT role owner name directory MARK (or unshare ... with that after it)
        where = argv.index(_INIT) if _INIT in argv else -1
        if where > 0 and argv[where + 5:where + 6] == [_MARK] and not _owner_alive(argv[where + 2]):
            try:
                os.kill(int(entry), signal.SIGKILL)
                killed.append(int(entry))
            except ProcessLookupError:
                pass
    temp = tempfile.gettempdir()
    for name in os.listdir(temp):
        parts = name.split('-')
        if name.startswith(_MARK + '-') and len(parts) > 3 and parts[2].isdigit() and not _pid_exists(int(parts[2])):
            shutil.rmtree(os.path.join(temp, name), ignore_errors=True)
    return killed


def _pid_exists(pid: int) -> bool:
    return os.path.exists(f'/proc/{pid}')
