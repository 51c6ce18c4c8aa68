"""The digits example (examples/digits.py) end to end: trained, served by a real HTTP server in a
child process, evaluated on the held-out digits, and stopped; through the Python API, as a
script, and through ``lazyplug update``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sklearn_helpers import EXAMPLE, FLOOR

import lazyplug
from lazyplug.errors import RemoteError, TaskFailedError


def test_update_trains_serves_and_scores_the_held_out_digits_above_the_floor(digits):
    digits.app.update()
    assert digits.classifier.trained
    assert digits.app.eval_result['accuracy'] >= FLOOR
    server = digits.digits.classifier
    assert server._url is not None and lazyplug.services.get_registry().lookup(server._impl._module_id) is not None
    images, labels = digits.heldout.samples[:20], digits.heldout.labels[:20]
    answers = [digits.app(image) for image in images]
    assert sum(a == str(label) for a, label in zip(answers, labels, strict=True)) >= FLOOR * len(labels)


def test_stop_ends_the_classifier_server_and_unpublishes_it(digits):
    digits.app.update()
    server = digits.digits.classifier
    pids = list(server._impl._deployment.pids)
    digits.app.stop()
    assert server._url is None and lazyplug.services.get_registry().lookup(server._impl._module_id) is None
    _, alive = psutil.wait_procs([psutil.Process(p) for p in pids if psutil.pid_exists(p)], timeout=10)
    assert not alive


def test_an_untrained_classifier_reaches_no_accuracy_and_says_it_must_be_trained(digits):
    with pytest.raises(TaskFailedError) as failed:
        digits.app.update(mode=('server', 'eval'))  # deploys and evaluates, but never trains
    assert failed.value.phase == 'eval'
    cause = failed.value.__cause__
    assert isinstance(cause, RemoteError) and cause.remote_type == 'NotTrainedError'
    assert 'is not trained' in str(cause)
    assert digits.app.eval_result is None and not digits.classifier.trained
    assert digits.digits.classifier._url is None  # the failed update stopped what it deployed


def test_a_classifier_that_ignores_the_images_stays_below_the_floor(lazyplug_isolated):
    classifier = lazyplug.sklearn.Classifier('digits', estimator='most_frequent')
    heldout = classifier.heldout()
    app = lazyplug.ActionModule(lazyplug.sklearn.Flatten(64), lazyplug.ServerModule(classifier),
                                lazyplug.sklearn.ClassName('digits'))
    app.evalset(heldout.samples, collect_f=heldout.score)
    try:
        app.update()
    finally:
        app.stop()
    assert classifier.trained and app.eval_result['accuracy'] < FLOOR / 2


# -- as a user runs it ---------------------------------------------------------------------------


def _run(command: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    env['LAZYPLUG_HOME'] = str(home)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300,
                          cwd=EXAMPLE.parents[1])


def _processes_of(home: Path) -> list[psutil.Process]:
    """The processes started with ``LAZYPLUG_HOME=home``: a run's servers, wherever they were reparented."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get('LAZYPLUG_HOME') == str(home) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return found


def _assert_nothing_left(home: Path) -> None:
    deadline = time.monotonic() + 10
    while (left := _processes_of(home)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f'processes left behind: {[p.cmdline() for p in left]}'


def _accuracy(output: str) -> float:
    found = re.findall(r'''['"]accuracy['"]: *([0-9.]+)''', output)  # a dict's repr, or JSON
    assert len(found) == 1, output
    return float(found[0])


def test_the_example_runs_as_a_script(tmp_path):
    home = tmp_path / 'home'
    done = _run([sys.executable, str(EXAMPLE)], home)
    assert done.returncode == 0, done.stderr
    assert '<Module type=Classifier dataset=digits estimator=svc>' in done.stdout  # the tree
    accuracy = float(re.search(r'accuracy on the held-out digits: ([0-9.]+)', done.stdout).group(1))
    assert accuracy >= FLOOR
    assert re.search(r'an image of a (\d) is read as a \1\b', done.stdout), done.stdout
    _assert_nothing_left(home)


def _lazyplug(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).with_name('lazyplug')
    assert command.exists(), 'the lazyplug command is installed with lazyplug'
    return _run([str(command), *args], home)


def test_lazyplug_update_trains_deploys_evaluates_and_stops(tmp_path):
    home = tmp_path / 'home'
    done = _lazyplug('update', 'examples/digits.py:app', home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '<Module type=Classifier dataset=digits estimator=svc>' in done.stdout  # the tree
    assert _accuracy(done.stdout) >= FLOOR
    _assert_nothing_left(home)
    listed = _lazyplug('ps', home=home)
    assert listed.returncode == 0 and 'no services are running' in listed.stdout.lower(), listed.stdout + listed.stderr


def test_lazyplug_update_without_training_fails_saying_so_and_stops(tmp_path):
    home = tmp_path / 'home'
    done = _lazyplug('update', 'examples/digits.py:app', '--mode', 'server,eval', home=home)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'is not trained' in done.stderr and "'accuracy'" not in done.stdout
    _assert_nothing_left(home)


def test_lazyplug_eval_trains_the_classifier_before_it_answers_the_evalset(tmp_path, digits):
    home = tmp_path / 'home'
    images, labels = digits.heldout.samples[:30], digits.heldout.labels[:30]
    evalset = tmp_path / 'images.jsonl'
    evalset.write_text(''.join(json.dumps(image) + '\n' for image in images))
    out = tmp_path / 'answers.jsonl'
    done = _lazyplug('eval', 'examples/digits.py:app', '--evalset', str(evalset), '--out', str(out), home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    answers = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(answers) == len(labels)
    assert sum(a == str(label) for a, label in zip(answers, labels, strict=True)) >= FLOOR * len(labels)
    _assert_nothing_left(home)
