"""The cost of the ``lazyplug`` command and of its progress display, beside baselines of the same run.

Run:  python benchmarks/bench_cli.py [--quick]

It only prints: nothing here is a test, and no timing is asserted anywhere. Figures:

* starting the command: ``lazyplug --help`` and ``lazyplug ps`` (new processes, median), beside
  ``python -c "import lazyplug"``;
* the progress display: ``update()`` of a tree of modules with a deploy task each, with the
  built-in progress plugin on (plain lines, written to a discarded stream) beside the same update
  with it off. (Off, it is not registered at all, so it costs nothing: ``bench_core.py``'s
  ``start()`` figures are the ones to compare with a run of the code before it.)
"""

from __future__ import annotations

import os

# The core's own figures: installed plugins would add the cost of their hooks to every task.
os.environ.setdefault('LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD', '1')

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import lazyplug
from lazyplug import config, plugins


def median_seconds(command: list[str], runs: int, env: dict[str, str]) -> float:
    """The median wall time of ``runs`` runs of ``command``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Deployed(lazyplug.ModuleBase):
    """A module with a trivial deploy task."""

    def _get_deploy_tasks(self) -> Callable[[], None]:
        return _nothing


def _nothing() -> None:
    pass


def tree(size: int, branching: int = 8) -> lazyplug.ModuleBase:
    """A balanced tree of ``size`` modules."""
    modules = [Deployed() for _ in range(size)]
    for index in range(1, size):
        parent = modules[(index - 1) // branching]
        setattr(parent, f'm{index}', modules[index])
    return modules[0]


def best_update(root: lazyplug.ModuleBase, progress: bool, repeats: int) -> float:
    """The shortest of ``repeats`` updates of ``root`` (deploy phase) with progress on or off."""
    best = float('inf')
    with config.temp('progress', progress):
        plugins.sync_optional_builtins()
        saved, sys.stderr = sys.stderr, io.StringIO()  # the lines are made, then discarded
        try:
            for _ in range(repeats):
                start = time.perf_counter()
                root.update(mode='deploy')
                best = min(best, time.perf_counter() - start)
        finally:
            sys.stderr = saved
    plugins.sync_optional_builtins()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='fewer runs: noisier figures')
    args = parser.parse_args()
    runs, repeats, size = (5, 3, 10_000) if args.quick else (11, 5, 20_000)

    print('Starting the command (new processes, median)')
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, 'LAZYPLUG_HOME': home}
        base = median_seconds([sys.executable, '-c', 'import lazyplug'], runs, env)
        for what in (['--help'], ['ps']):
            took = median_seconds([sys.executable, '-m', 'lazyplug', *what], runs, env)
            print(f'  lazyplug {" ".join(what):<8} {took * 1e3:7.1f} ms   import lazyplug: {base * 1e3:.1f} ms   '
                  f'{took / base:.2f}x')

    print(f'\nupdate() of {size:,} modules with a deploy task each (best of {repeats})')
    root = tree(size)
    best_update(root, True, 1)  # warm up: the plugin manager, the progress plugin's import
    on, off = float('inf'), float('inf')
    for _ in range(repeats):  # in turns, so that a busy moment slows both
        on = min(on, best_update(root, True, 1))
        off = min(off, best_update(root, False, 1))
    print(f'  progress on (plain lines)  {on:.3f} s   off: {off:.3f} s   {on / off:.2f}x '
          f'({(on - off) / size * 1e6:.1f} us more per task)')


if __name__ == '__main__':
    main()
