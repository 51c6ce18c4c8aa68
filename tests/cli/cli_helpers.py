"""Helpers of the command-line tests: run ``python -m lazyplug`` as a user would."""

import contextlib
import importlib.util
import os
import subprocess
import sys
import time

import psutil
import pytest


def skip_without_demo(installed, environ):
    """Whether the tests that need the test distributions skip: only when they are missing outside CI;
    under CI (CI=true, where tox installs them) a missing one makes those tests fail instead."""
    return not installed and environ.get('CI', '').lower() != 'true'


needs_demo = pytest.mark.skipif(skip_without_demo(importlib.util.find_spec('lazyplug_demo_broken') is not None,
                                                  os.environ),
                                reason='tox installs the test distributions (under CI=true a missing one fails)')

APP = '''
import lazyplug

class Upper(lazyplug.ModuleBase):
    def forward(self, text):
        return text.upper()

def double(x):
    return x * 2

def accuracy(outputs):
    return {'accuracy': sum(o == e for o, e in zip(outputs, ['A', 'B', 'X'])) / 3}

upper = Upper(name='up')
upper.evalset(['a', 'b', 'c'], collect_f=accuracy)
app = lazyplug.ActionModule(lazyplug.ServerModule(upper), lazyplug.pipeline(double, lambda x: x + '!'))
flow = lazyplug.pipeline(double, double)
plain = Upper()
long_results = Upper()
long_results.evalset([str(i) for i in range(100)])

class Failing(lazyplug.ModuleBase):
    def _get_deploy_tasks(self):
        return self.explode

    def explode(self):
        raise ValueError('the deploy went wrong')

failing = lazyplug.ActionModule(Failing(name='bad'))

def make():
    return lazyplug.ActionModule(Upper(name='made'))

if __name__ == '__main__':
    raise SystemExit('the main block must not run')
'''


def cli_env(home, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    env.update(LAZYPLUG_HOME=str(home), **extra)
    return env


def lazyplug_cmd(*args, cwd, home, input=None, timeout=120, **env):
    """Run ``python -m lazyplug ARGS`` in ``cwd``; return the completed process."""
    return subprocess.run([sys.executable, '-m', 'lazyplug', *args], cwd=cwd, env=cli_env(home, **env),
                          capture_output=True, text=True, input=input, timeout=timeout)


def start_lazyplug(*args, cwd, home):
    """``python -m lazyplug ARGS`` started in ``cwd``, its output piped as text; end it with ``end_child``."""
    return subprocess.Popen([sys.executable, '-m', 'lazyplug', *args], cwd=cwd, env=cli_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def end_child(proc):
    """Kill ``proc`` if it still runs, wait for it and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(30)
    proc.stdout.close()
    proc.stderr.close()


@contextlib.contextmanager
def lazyplug_child(*args, cwd, home):
    """``start_lazyplug`` for the length of a with-block, ended whatever the block does."""
    proc = start_lazyplug(*args, cwd=cwd, home=home)
    try:
        yield proc
    finally:
        end_child(proc)


def _alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_gone(pids):
    """Wait (10 s at most) until none of ``pids`` runs."""
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids):
        assert time.monotonic() < deadline, f'server processes {pids} still run'
        time.sleep(0.05)


def run_in_terminal(*args, cwd, home, columns=80, stdout=None):
    """Run ``python -m lazyplug ARGS`` with an 80-column pseudo-terminal as its standard streams (standard
    output elsewhere if ``stdout`` is given, a file, as a pipe to ``tee`` would be); (exit code, terminal output)."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, columns, 0, 0))
    env = {k: v for k, v in cli_env(home).items() if k not in ('COLUMNS', 'LINES')}  # the terminal says
    proc = subprocess.Popen([sys.executable, '-m', 'lazyplug', *args], cwd=cwd, env=env,
                            stdin=slave, stdout=slave if stdout is None else stdout, stderr=slave, close_fds=True)
    os.close(slave)
    out = b''
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal is closed: the process has ended
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        code = proc.wait(60)
    return code, out.decode('utf-8', 'replace')
