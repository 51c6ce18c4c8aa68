"""The performance figures of lazyplug's core, each beside a baseline measured in the same run.

Run:  python benchmarks/bench_core.py [--quick]

``--quick`` takes fewer repeats (noisier figures, about half the time). The script only
prints: nothing here is a test, and no timing is asserted anywhere.

Goals (the last table says PASS or MISS for each):

* calling a ModuleBase subclass whose forward returns its input: at most 5x a plain function call;
* a ``pipeline`` of 10 trivial functions: at most 3x the hand-written chain ``f(f(...f(x)))``;
* a ``parallel`` of 4 trivial functions (run on threads): at most 40 us per call;
* ``start()`` of a tree of 100,000 modules: under 1 s, with or without a trivial deploy task per
  module; the cost per module at 100k within 2x of the cost per module at 1k (linear);
* ``lazyplug.<group>.<name>``: under 2 us per look-up;
* ``import lazyplug``: at most 40 ms more than starting Python, and none of pluggy,
  importlib.metadata, concurrent.futures, json, pickle, cloudpickle, click, uvicorn, rich
  imported by it.

How each figure is measured (every subject is timed in turns with its baseline, so that a busy
moment of the machine slows both):

* per call: the best of several repeats of a timeit loop (garbage collection off, as timeit does);
* ``start()``: the best of several runs over a tree built beforehand, garbage collection on (as
  users run it); the baseline is a plain post-order walk that runs each module's deploy task;
* registry: the best of several runs (registration, look-ups);
* import: the median of separate ``python -c`` processes, with bytecode cached in a temporary
  directory as an installed package has it (and, when the environment sets
  ``PYTHONDONTWRITEBYTECODE``, also as this environment runs it, compiling lazyplug each time).
"""

from __future__ import annotations

import os

# The core's own figures: installed plugins would add the cost of their hooks to every task and call.
os.environ.setdefault('LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD', '1')

import argparse
import gc
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import lazyplug

FORBIDDEN_AFTER_IMPORT = ('pluggy', 'importlib.metadata', 'concurrent.futures', 'json', 'pickle', 'cloudpickle',
                          'click', 'uvicorn', 'rich')
TREE_SIZES = (1_000, 10_000, 100_000)
TREE_BRANCHING = 8


@dataclass(frozen=True)
class Settings:
    """How hard to measure."""

    repeats: int  # timeit repeats per per-call figure (the best is kept)
    min_time: float  # seconds one repeat of a per-call loop lasts at least
    tree_repeats: int  # runs of start() per 100k tree (3x that for smaller trees) and of registration
    lookups: int  # registry look-ups per repeat
    import_runs: int  # processes per import figure (the median is kept)


FULL = Settings(repeats=5, min_time=0.1, tree_repeats=5, lookups=100_000, import_runs=15)
QUICK = Settings(repeats=3, min_time=0.05, tree_repeats=2, lookups=100_000, import_runs=7)


@dataclass
class Row:
    """One figure: what lazyplug measured beside its baseline, and the goal it is held to."""

    figure: str
    value: str
    baseline: str
    ratio: float | None = None
    goal: str = 'report'
    passed: bool | None = None  # None: no goal


# -- formatting ------------------------------------------------------------------------------------

def us(seconds: float) -> str:
    """Seconds as microseconds, three significant digits."""
    return f'{seconds * 1e6:.3g} us'


def ms(seconds: float) -> str:
    return f'{seconds * 1e3:.3g} ms'


def secs(seconds: float) -> str:
    return f'{seconds:.3g} s'


def print_table(title: str, rows: list[Row]) -> None:
    """Print rows as an aligned table under a title."""
    header = ('figure', 'lazyplug', 'baseline', 'ratio', 'goal', 'verdict')
    cells = [header] + [
        (r.figure, r.value, r.baseline, '' if r.ratio is None else f'{r.ratio:.2f}x', r.goal,
         '' if r.passed is None else ('PASS' if r.passed else 'MISS'))
        for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    print(f'\n{title}')
    for n, line in enumerate(cells):
        print('  ' + '  '.join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            print('  ' + '  '.join('-' * w for w in widths))
    sys.stdout.flush()


def print_goals(rows: list[Row], began: float) -> None:
    """Print PASS or MISS for every row held to a goal, and how long the run took since ``began``."""
    goals = [r for r in rows if r.passed is not None]
    print('\nGoals')
    for r in goals:
        print(f'  {"PASS" if r.passed else "MISS"}  {r.figure}: {r.value} (goal {r.goal})')
    missed = sum(not r.passed for r in goals)
    print(f'\n{len(goals) - missed} of {len(goals)} goals met; the run took {time.perf_counter() - began:.0f} s.')


# -- timing helpers --------------------------------------------------------------------------------

def _calibrated(stmt: str, namespace: dict[str, Any], settings: Settings) -> tuple[timeit.Timer, int]:
    """A warmed-up timer for ``stmt`` and how many executions make one repeat last ``settings.min_time``."""
    timer = timeit.Timer(stmt, globals=namespace)
    timer.timeit(number=100)  # warm up: first-call set-up (plugin manager, thread pool) stays out
    number = 1
    while timer.timeit(number) < settings.min_time:  # like Timer.autorange, with our own minimum
        number *= 2
    return timer, number


def per_call(subject: tuple[str, dict[str, Any]], baseline: tuple[str, dict[str, Any]],
             settings: Settings) -> tuple[float, float]:
    """Seconds per execution of the subject and of the baseline statement.

    Each is the best of ``settings.repeats`` timeit loops; the two are measured in turns, so that
    a busy moment of the machine slows both.
    """
    (timer_a, number_a), (timer_b, number_b) = (_calibrated(*subject, settings), _calibrated(*baseline, settings))
    best_a = best_b = float('inf')
    for _ in range(settings.repeats):
        best_a = min(best_a, timer_a.timeit(number_a) / number_a)
        best_b = min(best_b, timer_b.timeit(number_b) / number_b)
    return best_a, best_b


def best_of(repeats: int, subject: Callable[[], object], baseline: Callable[[], object]) -> tuple[float, float]:
    """The shortest of ``repeats`` timed runs of the subject and of the baseline, run in turns, GC on."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for action, record in zip((subject, baseline), times, strict=True):
            start = time.perf_counter()
            action()
            record.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


# -- per-call figures ------------------------------------------------------------------------------

class Identity(lazyplug.ModuleBase):
    """A module whose forward returns its input."""

    def forward(self, x: Any) -> Any:
        return x


class MinimalCallable:
    """The least a module call can cost in Python: a ``__call__`` that calls ``self.forward``."""

    def __call__(self, x: Any) -> Any:
        return self.forward(x)

    def forward(self, x: Any) -> Any:
        return x


kwargs = lazyplug.kwargs
_NOTHING: Any = kwargs()


class ContractCallable:
    """The least a call honouring LazyLLM's contract costs: keyword arguments are accepted and a
    ``kwargs`` first argument is spread; ModuleBase adds one check (hooks, cache, trace) to this."""

    def __call__(self, arg: Any = _NOTHING, /, *args: Any, **kw: Any) -> Any:
        if args or kw or type(arg) is kwargs:
            return self.forward(*args, **{**arg, **kw}) if type(arg) is kwargs else self.forward(arg, *args, **kw)
        return self.forward(arg)

    def forward(self, x: Any) -> Any:
        return x


def identity(x: Any) -> Any:
    return x


def add_one(x: int) -> int:
    return x + 1


def _loop_of_four(fs: tuple[Callable[[int], int], ...], x: int) -> list[int]:
    return [f(x) for f in fs]


PLAIN_CALL = ('f(1)', {'f': identity})


def bench_module_call(settings: Settings) -> list[Row]:
    mod, plain = per_call(('m(1)', {'m': Identity()}), PLAIN_CALL, settings)
    contract, plain_contract = per_call(('m(1)', {'m': ContractCallable()}), PLAIN_CALL, settings)
    least, plain_least = per_call(('m(1)', {'m': MinimalCallable()}), PLAIN_CALL, settings)
    return [
        Row('call a ModuleBase subclass', us(mod), f'function: {us(plain)}', mod / plain, '<= 5x', mod / plain <= 5),
        Row('(floor: keywords and kwargs spread, no more)', us(contract), f'function: {us(plain_contract)}',
            contract / plain_contract),
        Row('(floor: class whose __call__ calls forward)', us(least), f'function: {us(plain_least)}',
            least / plain_least),
    ]


def bench_action_module_call(settings: Settings) -> Row:
    action, plain = per_call(('m(1)', {'m': lazyplug.ActionModule(identity)}), PLAIN_CALL, settings)
    return Row('call ActionModule(function)', us(action), f'function: {us(plain)}', action / plain)


def bench_pipeline(settings: Settings) -> Row:
    flow = lazyplug.pipeline(*[lambda x: x + 1 for _ in range(10)])
    assert flow(0) == 10
    piped, chain = per_call(('p(0)', {'p': flow}), ('f(f(f(f(f(f(f(f(f(f(0))))))))))', {'f': add_one}), settings)
    return Row('pipeline of 10 functions', us(piped), f'f(f(...f(x))): {us(chain)}', piped / chain, '<= 3x',
               piped / chain <= 3)


def bench_parallel(settings: Settings) -> Row:
    fs = tuple(lambda x: x + 1 for _ in range(4))
    flow = lazyplug.parallel(*fs)
    assert tuple(flow(0)) == (1, 1, 1, 1)
    threaded, loop = per_call(('p(0)', {'p': flow}), ('loop(fs, 0)', {'loop': _loop_of_four, 'fs': fs}), settings)
    return Row('parallel of 4 functions (threads)', us(threaded), f'loop over 4: {us(loop)}', threaded / loop,
               '<= 40 us', threaded <= 40e-6)


def bench_parallel_sequential(settings: Settings) -> Row:
    fs = tuple(lambda x: x + 1 for _ in range(4))
    flow = lazyplug.parallel.sequential(*fs)
    assert tuple(flow(0)) == (1, 1, 1, 1)
    sequential, loop = per_call(('p(0)', {'p': flow}), ('loop(fs, 0)', {'loop': _loop_of_four, 'fs': fs}),
                                settings)
    return Row('parallel.sequential of 4 functions', us(sequential), f'loop over 4: {us(loop)}',
               sequential / loop)


# -- start() over trees ----------------------------------------------------------------------------

class Node(lazyplug.ModuleBase):
    """A module with no tasks; its children are set as attributes."""


def _no_op() -> None:
    return None


class DeployNode(Node):
    """A module with one trivial deploy task."""

    def _get_deploy_tasks(self) -> Callable[[], None]:
        return _no_op


def build_tree(cls: type[Node], size: int) -> Node:
    """A balanced tree of ``size`` modules, ``TREE_BRANCHING`` children each, built breadth first."""
    nodes = [cls() for _ in range(size)]
    for i in range(1, size):
        setattr(nodes[(i - 1) // TREE_BRANCHING], f'c{(i - 1) % TREE_BRANCHING}', nodes[i])
    return nodes[0]


def plain_start(root: lazyplug.ModuleBase) -> int:
    """The baseline: an iterative post-order walk that runs every module's deploy task."""
    seen = {id(root)}
    stack: list[tuple[lazyplug.ModuleBase, Iterator[lazyplug.ModuleBase]]] = [(root, iter(root.submodules))]
    count = 0
    while stack:
        module, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            task = module._get_deploy_tasks()
            if task is not None:
                task()
            count += 1
        elif id(child) not in seen:
            seen.add(id(child))
            stack.append((child, iter(child.submodules)))
    return count


def bench_start(cls: type[Node], label: str, settings: Settings) -> list[Row]:
    """start() over trees of every size, then the linearity check."""
    rows = []
    per_module = {}
    for size in TREE_SIZES:
        root = build_tree(cls, size)
        assert plain_start(root) == size
        root.start()  # warm up (the plugin manager loads on first use)
        repeats = settings.tree_repeats if size >= 100_000 else settings.tree_repeats * 3
        took, walk = best_of(repeats, root.start, lambda root=root: plain_start(root))
        per_module[size] = took / size
        goal, passed = ('< 1 s', took < 1.0) if size >= 100_000 else ('report', None)
        rows.append(Row(f'start() {label}, {size:,} modules', f'{secs(took)} = {us(took / size)}/module',
                        f'walk: {secs(walk)}', took / walk, goal, passed))
        del root
        gc.collect()
    small, large = TREE_SIZES[0], TREE_SIZES[-1]
    growth = per_module[large] / per_module[small]
    rows.append(Row(f'start() {label}: linear?', f'{us(per_module[large])}/module at {large:,}',
                    f'{us(per_module[small])}/module at {small:,}', growth, '<= 2x', growth <= 2))
    return rows


# -- registry --------------------------------------------------------------------------------------

_group_numbers = itertools.count(1)


def _make_function(i: int) -> Callable[[Any], Any]:
    def function(x: Any) -> Any:
        return x
    function.__name__ = function.__qualname__ = f'f{i}'
    return function


def _define_thousand() -> None:
    for i in range(1000):
        _make_function(i)


def bench_registry(settings: Settings) -> list[Row]:
    """Registering 1,000 functions; the first look-up of each name; 100k repeated look-ups."""
    groups: list[str] = []

    def register_thousand() -> None:
        groups.append(f'benchgroup{os.getpid()}n{next(_group_numbers)}')  # a fresh group each time
        lazyplug.module_register.new_group(groups[-1])
        register = lazyplug.module_register(groups[-1])
        for i in range(1000):
            register(_make_function(i))

    took, plain = best_of(settings.tree_repeats, register_thousand, _define_thousand)
    group_name = groups[-1]
    group = getattr(lazyplug, group_name)
    names = [f'f{i}' for i in range(1000)]
    table = types.SimpleNamespace(**{name: object() for name in names})

    start = time.perf_counter()
    for name in names:  # each name's first look-up applies the matching rules; later ones are cached
        getattr(group, name)
    first = (time.perf_counter() - start) / len(names)
    first_plain = min(timeit.repeat('for n in names: getattr(t, n)', globals={'names': names, 't': table},
                                    repeat=settings.repeats, number=1)) / len(names)

    timer = timeit.Timer(f'lazyplug.{group_name}.f500', globals={'lazyplug': lazyplug})
    plain_timer = timeit.Timer(f'ns.{group_name}.f500',
                               globals={'ns': types.SimpleNamespace(**{group_name: table})})
    n = settings.lookups
    lookup = min(timer.repeat(repeat=settings.repeats, number=n)) / n
    plain_lookup = min(plain_timer.repeat(repeat=settings.repeats, number=n)) / n
    return [
        Row('register 1,000 functions', ms(took), f'define 1,000: {ms(plain)}', took / plain),
        Row('first look-up of each of 1,000 names', us(first), f'getattr: {us(first_plain)}', first / first_plain),
        Row(f'{n // 1000}k look-ups lazyplug.<group>.<name>', f'{us(lookup)} each',
            f'SimpleNamespace: {us(plain_lookup)}', lookup / plain_lookup, '< 2 us', lookup < 2e-6),
    ]


# -- import ----------------------------------------------------------------------------------------

def _run_python(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', code], check=True, env=env)
    return time.perf_counter() - start


def _import_times(env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median seconds of ``python -c "import lazyplug"`` and of ``python -c pass``, run in turns."""
    _run_python('import lazyplug', env)  # warm the file system cache (and the bytecode cache, if any)
    with_import, bare = [], []
    for _ in range(runs):
        with_import.append(_run_python('import lazyplug', env))
        bare.append(_run_python('pass', env))
    return statistics.median(with_import), statistics.median(bare)


def _import_row(figure: str, env: dict[str, str], settings: Settings, with_goal: bool) -> Row:
    took, bare = _import_times(env, settings.import_runs)
    added = took - bare
    goal, passed = ('<= +40 ms', added <= 0.040) if with_goal else ('report', None)
    return Row(figure, f'{ms(took)} (+{ms(added)})', f'python -c pass: {ms(bare)}', took / bare, goal, passed)


def bench_import(settings: Settings) -> list[Row]:
    """``python -c "import lazyplug"`` against ``python -c pass``; what the import pulls in.

    The goal is held with bytecode cached, as an installed package runs (the cache goes to a
    temporary directory, not beside the sources). An environment that turns bytecode off
    (``PYTHONDONTWRITEBYTECODE``) compiles lazyplug on every start; that is shown as well.
    """
    rows = []
    with tempfile.TemporaryDirectory(prefix='lazyplug-bench-pycache-') as cache:
        env = {k: v for k, v in os.environ.items() if k != 'PYTHONDONTWRITEBYTECODE'}
        env['PYTHONPYCACHEPREFIX'] = cache
        rows.append(_import_row('import lazyplug (bytecode cached)', env, settings, with_goal=True))
    if os.environ.get('PYTHONDONTWRITEBYTECODE'):
        rows.append(_import_row('import lazyplug (PYTHONDONTWRITEBYTECODE set)', dict(os.environ), settings,
                                with_goal=False))

    probe = (f'import sys; import lazyplug; '
             f'print(",".join(m for m in {FORBIDDEN_AFTER_IMPORT!r} if m in sys.modules))')
    output = subprocess.run([sys.executable, '-c', probe], check=True, capture_output=True, text=True).stdout
    loaded = [name for name in output.strip().split(',') if name]
    rows.append(Row('heavy modules after import lazyplug', ', '.join(loaded) or 'none',
                    f'{len(FORBIDDEN_AFTER_IMPORT)} checked', None, 'none', not loaded))
    return rows


# -- main ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='fewer repeats: noisier, faster')
    settings = QUICK if parser.parse_args(argv).quick else FULL
    print(f'lazyplug {lazyplug.__version__} on Python {sys.version.split()[0]} ({sys.platform}, '
          f'{os.cpu_count()} CPUs); {"quick" if settings is QUICK else "full"} run')
    began = time.perf_counter()

    sections = [
        ('Per call (best of timeit repeats, GC off)', lambda: [
            *bench_module_call(settings), bench_action_module_call(settings), bench_pipeline(settings),
            bench_parallel(settings), bench_parallel_sequential(settings)]),
        ('start() over balanced trees (best of repeats, GC on; baseline: plain post-order walk running each '
         'deploy task)', lambda: [*bench_start(Node, 'no tasks', settings),
                                  *bench_start(DeployNode, 'a deploy task each', settings)]),
        ('Registry (best of repeats)', lambda: bench_registry(settings)),
        ('Import (new processes, median; baseline: python -c pass)', lambda: bench_import(settings)),
    ]
    rows: list[Row] = []
    for title, measure in sections:
        section_rows = measure()
        print_table(title, section_rows)
        rows.extend(section_rows)

    print_goals(rows, began)
    return 0


if __name__ == '__main__':
    sys.exit(main())
