"""Helpers of the streaming tests."""

from __future__ import annotations

import threading
import time


def endless(pause=0.001):
    """A generator function that yields its input for ever, and the Event its end (closed, or
    stopped with its consumer) sets."""
    stopped = threading.Event()

    def run(x):
        try:
            while True:
                yield x
                time.sleep(pause)
        finally:
            stopped.set()

    return run, stopped
