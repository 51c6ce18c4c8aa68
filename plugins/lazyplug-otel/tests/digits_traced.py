"""The digits application (examples/digits.py) as the Phoenix test runs it, in a process of its own:
updated (trained, served, evaluated on a few held-out digits), called once, then its served
classifier called with a sample it refuses; stopped. Prints what happened, as JSON lines.

    python digits_traced.py path/to/examples/digits.py
"""

from __future__ import annotations

import importlib.util
import json
import sys

import lazyplug
from lazyplug_sklearn.data import Heldout

spec = importlib.util.spec_from_file_location('digits_example', sys.argv[1])
assert spec is not None and spec.loader is not None
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)

app, heldout = example.app, example.heldout
few = Heldout(heldout.samples[:6], heldout.labels[:6], heldout.class_names)  # a short evaluation: a lean test
app.evalset(few.samples, collect_f=few.score)
try:
    app.update()
    print(json.dumps({'accuracy': app.eval_result['accuracy'], 'answer': app(few.samples[0])}), flush=True)
    try:
        example.digits.classifier([1.0] * 10)  # the served classifier takes 64 numbers
    except lazyplug.errors.RemoteError as exc:
        print(json.dumps({'error': exc.remote_type}), flush=True)
finally:
    app.stop()  # the server exits, exporting its spans; this process exports the rest as it exits
