"""What tracing costs a call: lazyplug-otel beside LazyLLM 1.4.0's own tracing, measured in the same run.

Run:  python benchmarks/bench_otel.py [--quick] [--lazyllm PYTHON]

Both libraries run the same application, a pipeline of three modules whose forward adds one, each
in a process of its own per configuration (tracing is set up when a program starts):

* lazyplug with lazyplug-otel blocked (``LAZYPLUG_DISABLED_PLUGINS=otel``), switched off
  (``LAZYPLUG_OTEL=0``) and not loaded at all (``LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD=1``, as if not
  installed): the three should cost the same, the fast path of the core;
* lazyplug tracing to its local backend (the default), with and without inputs and outputs;
* LazyLLM untraced (``LAZYLLM_TRACE_ENABLED=0``) and tracing to its local backend
  (``LAZYLLM_TRACE_BACKEND=local``), with ``/work/llmvenv/bin/python`` (or ``--lazyllm``). LazyLLM's
  tracing needs ``opentelemetry-sdk``; where its environment lacks it, the SDK of this one (the same
  release series) is put on its path for the run, and the table says so. Without LazyLLM the table
  says it is absent.

A configuration's figure is its best repeat of a run of pipeline calls (2000; 100,000 untraced in
lazyplug, where a call takes a microsecond), wall-clock and CPU (of every thread: the exporter's
too), then the time to flush what its tracer still holds; each pipeline call makes four spans (the
pipeline and its modules), and the table says how many of them reached the store.
The overhead of tracing is the traced figure less the untraced one of the same library. The goal:
lazyplug's overhead at most a tenth of LazyLLM's. The script only prints; no timing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from typing import Any

LAZYLLM_PYTHON = '/work/llmvenv/bin/python'

TIMING = '''
calls, repeats = int(sys.argv[1]), int(sys.argv[2])
for i in range(200):
    flow(i)  # warm up: the plugins load, the tracer is made
best = cpu = float('inf')
for _ in range(repeats):
    start, start_cpu = time.perf_counter(), time.process_time()
    for i in range(calls):
        flow(i)
    best = min(best, (time.perf_counter() - start) / calls)
    cpu = min(cpu, (time.process_time() - start_cpu) / calls)
'''
"""How both programs time ``flow``: the best of ``repeats`` runs of ``calls`` calls, wall and CPU."""

LAZYPLUG_PROGRAM = '''
import json, sys, time
import lazyplug

class Step(lazyplug.ModuleBase):
    def forward(self, x):
        return x + 1

flow = lazyplug.pipeline(a=Step(), b=Step(), c=Step())  # as LazyLLM's below: named items
''' + TIMING + '''flushed, kept = 0.0, None
if lazyplug.host.host.flags.module_call:  # traced
    import lazyplug_otel
    from lazyplug_otel.store import TraceStore
    start = time.perf_counter()
    lazyplug_otel.flush()
    flushed = time.perf_counter() - start
    kept = sum(s.spans for s in TraceStore().recent(10 ** 9))
print(json.dumps({'per_call': best, 'cpu': cpu, 'flush': flushed, 'kept': kept}))
'''

LAZYLLM_PROGRAM = '''
import glob, json, os, sys, time
import lazyllm
from lazyllm import pipeline

class Step(lazyllm.ModuleBase):
    def forward(self, x):
        return x + 1

with pipeline() as flow:
    flow.a = Step()
    flow.b = Step()
    flow.c = Step()
''' + TIMING + '''start = time.perf_counter()
from opentelemetry import trace
flush = getattr(trace.get_tracer_provider(), 'force_flush', None)
if flush is not None:
    flush()
flushed = time.perf_counter() - start
kept = None
if os.environ.get('LAZYLLM_TRACE_ENABLED') == '1':
    kept = 0
    for path in glob.glob(os.path.join(os.environ['LAZYLLM_HOME'], 'traces', '*.jsonl')):
        with open(path) as f:
            kept += sum(1 for _ in f)
print(json.dumps({'per_call': best, 'cpu': cpu, 'flush': flushed, 'kept': kept, 'version': lazyllm.__version__}))
'''


@dataclass
class Figure:
    name: str
    per_call: float  # wall-clock seconds
    cpu: float  # CPU seconds of the process (every thread, the exporter's too)
    flush: float
    kept: int | None
    made: int  # spans the traced calls made (calls run x 4), for the kept column


def run(python: str, program: str, env: dict[str, str], calls: int, repeats: int) -> dict[str, Any]:
    result = subprocess.run([python, '-c', textwrap.dedent(program), str(calls), str(repeats)], env=env,
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f'the benchmark program failed:\n{result.stderr[-3000:]}')
    return json.loads(result.stdout.strip().splitlines()[-1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(('LAZYPLUG_', 'LAZYLLM_', 'OTEL_'))}
    env.update(extra)
    return env


def sdk_overlay(python: str, directory: str) -> str | None:
    """A directory to put on ``python``'s path that brings this environment's OpenTelemetry SDK, when
    ``python`` lacks it (LazyLLM's tracing needs it); None when it has it."""
    check = subprocess.run([python, '-c', 'import opentelemetry.sdk.trace'], capture_output=True)
    if check.returncode == 0:
        return None
    import opentelemetry.sdk
    import opentelemetry.semconv
    overlay = os.path.join(directory, 'otel-sdk')
    os.makedirs(os.path.join(overlay, 'opentelemetry'))
    for package in (opentelemetry.sdk, opentelemetry.semconv):
        source = next(iter(package.__path__))
        os.symlink(source, os.path.join(overlay, 'opentelemetry', os.path.basename(source)))
    return overlay


def micro(seconds: float) -> str:
    return f'{seconds * 1e6:.1f} us'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='fewer calls and repeats (noisier figures)')
    parser.add_argument('--lazyllm', default=LAZYLLM_PYTHON, help='the Python of an environment with LazyLLM 1.4.0')
    args = parser.parse_args(argv)
    calls, repeats = (500, 3) if args.quick else (2000, 5)
    try:
        import lazyplug_otel  # noqa: F401
    except ImportError:
        print('lazyplug-otel is not installed here: pip install plugins/lazyplug-otel (the otel tox env has it)')
        return 1
    began = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as scratch:
        def lazyplug_figure(name: str, traced: bool = True, **env: str) -> Figure:
            home = tempfile.mkdtemp(dir=scratch)
            env.setdefault('LAZYPLUG_OTEL_KEEP_TRACES', str(10 ** 9))  # every trace kept, to count drops
            count = calls if traced else calls * 50  # an untraced call takes a microsecond: more of them
            found = run(sys.executable, LAZYPLUG_PROGRAM, clean_env(LAZYPLUG_HOME=home, **env), count, repeats)
            made = (200 + count * repeats) * 4
            return Figure(name, float(found['per_call']), float(found['cpu']), float(found['flush']),
                          found['kept'], made)

        figures.append(lazyplug_figure('lazyplug, otel not loaded', False, LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD='1'))
        figures.append(lazyplug_figure('lazyplug, otel blocked', False, LAZYPLUG_DISABLED_PLUGINS='otel'))
        figures.append(lazyplug_figure('lazyplug, otel switched off', False, LAZYPLUG_OTEL='0'))
        figures.append(lazyplug_figure('lazyplug, traced (local backend)'))
        figures.append(lazyplug_figure('lazyplug, traced, capture off', LAZYPLUG_OTEL_CAPTURE='0'))
        note = ''
        if os.path.exists(args.lazyllm):
            overlay = sdk_overlay(args.lazyllm, scratch)
            if overlay is not None:
                note = f'LazyLLM ran with the OpenTelemetry SDK of this environment on its path ({overlay})'
            for name, enabled in (('LazyLLM, untraced', '0'), ('LazyLLM, traced (local backend)', '1')):
                home = tempfile.mkdtemp(dir=scratch)
                env = clean_env(LAZYLLM_HOME=home, LAZYLLM_TRACE_ENABLED=enabled, LAZYLLM_TRACE_BACKEND='local')
                if overlay is not None:
                    env['PYTHONPATH'] = overlay
                found = run(args.lazyllm, LAZYLLM_PROGRAM, env, calls, repeats)
                note = note or f'LazyLLM {found["version"]}'
                figures.append(Figure(name, float(found['per_call']), float(found['cpu']),
                                      float(found['flush']), found['kept'], (200 + calls * repeats) * 4))
        else:
            note = f'LazyLLM is absent ({args.lazyllm} does not exist): its figures are missing'

    print(f'Per pipeline call of three modules (four spans when traced), best of {repeats} x {calls} calls')
    rows = [('configuration', 'wall', 'CPU', 'flush after', 'spans kept')]
    for f in figures:
        rows.append((f.name, micro(f.per_call), micro(f.cpu), micro(f.flush),
                     '' if f.kept is None else f'{f.kept} of {f.made}'))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for n, row in enumerate(rows):
        print('  ' + '  '.join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print('  ' + '  '.join('-' * w for w in widths))
    by = {f.name: f for f in figures}
    base = by['lazyplug, otel not loaded']
    print('\nWith the plugin blocked or switched off (the fast path untouched: about 1.00x)')
    for name in ('lazyplug, otel blocked', 'lazyplug, otel switched off'):
        print(f'  {name}: {by[name].per_call / base.per_call:.2f}x of not loaded')
    traced, bare = by['lazyplug, traced (local backend)'], by['lazyplug, traced, capture off']
    ours, ours_cpu = traced.per_call - base.per_call, traced.cpu - base.cpu
    print('\nThe overhead of tracing, per pipeline call (wall; CPU of every thread)')
    print(f'  lazyplug-otel: {micro(ours)}; {micro(ours_cpu)} CPU (inputs and outputs off: '
          f'{micro(bare.per_call - base.per_call)}; {micro(bare.cpu - base.cpu)} CPU)')
    if 'LazyLLM, traced (local backend)' in by:
        lazyllm, untraced = by['LazyLLM, traced (local backend)'], by['LazyLLM, untraced']
        theirs, theirs_cpu = lazyllm.per_call - untraced.per_call, lazyllm.cpu - untraced.cpu
        print(f'  LazyLLM 1.4.0: {micro(theirs)}; {micro(theirs_cpu)} CPU')
        if traced.kept and lazyllm.kept:  # a tracer that drops spans does less: what each span it kept cost
            ours_kept, theirs_kept = ours * traced.made / traced.kept, theirs * lazyllm.made / lazyllm.kept
            print(f'  per span kept, overhead x spans made / spans kept: lazyplug-otel {micro(ours_kept / 4)}, '
                  f'LazyLLM {micro(theirs_kept / 4)} ({ours_kept / theirs_kept:.3f}x)')
        verdict = 'PASS' if ours <= theirs / 10 else 'MISS'
        print(f'\n  {verdict}  lazyplug-otel costs {ours / theirs:.3f}x of what LazyLLM\'s tracing costs, wall '
              f'({ours_cpu / theirs_cpu:.3f}x in CPU; goal <= 0.1x)')
    print(f'\n{note}; the run took {time.perf_counter() - began:.0f} s.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
