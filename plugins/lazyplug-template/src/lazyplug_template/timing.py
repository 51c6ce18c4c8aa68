"""The hook plugin ``template_timing``: a wrapper that times every phase of every update."""

from __future__ import annotations

import logging
import time
from typing import Any

from lazyplug import hookimpl

log = logging.getLogger(__name__)
TIMES: list[tuple[str, int, float]] = []  # (phase, tasks, seconds) of every phase run


@hookimpl(wrapper=True)
def lazyplug_run_phase(root: Any, phase: str, tasks: Any) -> Any:
    """Around the core's own implementation: time the phase, whether it succeeds or fails."""
    count, start = len(tasks), time.perf_counter()
    try:
        return (yield)  # the inner implementations run the tasks; their result passes through
    finally:
        seconds = time.perf_counter() - start
        TIMES.append((phase, count, seconds))
        log.info('%s phase: %d tasks in %.3f s', phase, count, seconds)
