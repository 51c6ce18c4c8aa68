"""Helpers of lazyplug-web's tests (a module of its own, not conftest: other plugins' test folders have a
conftest too, and ``from conftest import`` would find whichever pytest imported first)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading


def env(app_dir):
    """The environment of a command run for a test: no LAZYPLUG_ settings but its own home."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    return {**clean, 'LAZYPLUG_HOME': str(app_dir / 'home')}


def lazyplug_cmd(app_dir, *args):
    """Run ``python -m lazyplug ARGS`` in ``app_dir`` to its end."""
    return subprocess.run([sys.executable, '-m', 'lazyplug', *args], cwd=app_dir, env=env(app_dir),
                          capture_output=True, text=True, timeout=120)


def start_lazyplug(app_dir, *args):
    """``python -m lazyplug ARGS`` started in ``app_dir``, its output piped as text."""
    return subprocess.Popen([sys.executable, '-m', 'lazyplug', *args], cwd=app_dir, env=env(app_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def first_line(proc, pattern, timeout=60):
    """The match of ``pattern`` in the first line of ``proc``'s output that has one; the command is
    killed if none comes within ``timeout`` seconds."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            found = re.search(pattern, line)
            if found:
                return found
    finally:
        timer.cancel()
    raise AssertionError(f'the command printed no line matching {pattern!r}: {proc.stderr.read()}')
