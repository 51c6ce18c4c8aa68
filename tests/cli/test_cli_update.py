"""``lazyplug update`` and ``lazyplug eval``: the lifecycle from the command line, progress, interruptions."""

import json
import signal

import pytest
from cli_helpers import assert_gone, lazyplug_child, run_in_terminal

# -- update ---------------------------------------------------------------------------------------

def test_update_prints_the_tree_the_eval_results_and_the_urls_then_stops_what_it_deployed(run):
    result = run('update', 'app.py:app', '--no-progress')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith('<Module type=Action')
    # a line per phase says what ran; results are named by module name, not by the repr of a tree
    assert [line.split(' done in ')[0] for line in lines if ' done in ' in line] == [
        'deploy: 1 task', 'eval: 1 task']
    assert "eval Upper(up): {'accuracy': 0.6666666666666666}" in lines
    assert lines[-1] == 'stopped 1 service (use --serve to keep them running)'
    [deployed] = [line for line in lines if line.startswith('deployed ')]
    assert deployed.startswith('deployed Upper up served by ServerModule at http://127.0.0.1:')
    # the command ended, and with it the server: its port refuses connections
    url = deployed.split(' at ')[1].split()[0]
    from lazyplug.serve.client import health
    assert not health(url)


def test_update_abbreviates_long_eval_results(run):
    result = run('update', 'app.py:long_results')
    assert result.returncode == 0, result.stderr
    # the root by the name TARGET gives it
    assert "eval long_results: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ...]" in result.stdout


def test_a_failed_update_exits_1_naming_module_and_phase_without_a_traceback(run):
    result = run('update', 'app.py:failing')
    assert result.returncode == 1
    assert 'Error: update of app.py:failing failed: deploy task #0 Failing(bad).explode failed: ValueError: ' \
        'the deploy went wrong' in result.stderr
    assert 'deploy: 1 task failed after ' in result.stdout
    assert 'Traceback' not in result.stderr
    assert 'Traceback' in run('--traceback', 'update', 'app.py:failing').stderr
    assert 'Traceback' in run('update', 'app.py:failing', '--traceback').stderr
    assert 'Traceback' in run('update', 'app.py:failing', LAZYPLUG_DEBUG='1').stderr


def test_update_modes_and_bad_options(run):
    result = run('update', 'app.py:app', '--mode', 'train')
    assert result.returncode == 0, result.stderr
    assert 'deployed' not in result.stdout and 'eval' not in result.stdout
    bad = run('update', 'app.py:app', '--mode', 'train,serve')
    assert bad.returncode == 2 and "unknown mode 'serve'" in bad.stderr
    assert run('update', 'app.py:app', '--workers', '0').returncode == 2


@pytest.mark.parametrize('mode', ['deploy', 'server'])  # server: LazyLLM's name of the phase
def test_update_with_the_thread_launcher_and_a_memory_registry(run, mode):
    result = run('update', 'app.py:app', '--launcher', 'thread', '--registry', 'memory://', '--mode', mode)
    assert result.returncode == 0, result.stderr
    assert 'deployed Upper up served by ServerModule at http://127.0.0.1:' in result.stdout


def test_an_unknown_launcher_is_a_usage_error_before_anything_runs(run):
    result = run('update', 'app.py:app', '--launcher', 'nowhere', '--progress')
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no launcher 'nowhere'; launchers: local, thread (built in)" in result.stderr
    assert result.stdout == '' and 'train:' not in result.stderr  # not even the tree: nothing ran
    from_env = run('eval', 'app.py:app', '--evalset', '-', input='"x"\n', LAZYPLUG_LAUNCHER='nowhere')
    assert from_env.returncode == 2 and "'nowhere'" in from_env.stderr


@pytest.mark.parametrize('workers', ['0', 'abc', '-1'])
def test_a_bad_workers_setting_is_a_usage_error_before_anything_runs(run, workers):
    result = run('update', 'app.py:app', LAZYPLUG_WORKERS=workers)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"LAZYPLUG_WORKERS={workers!r} is not valid for setting 'workers'" in result.stderr
    assert result.stdout == ''
    assert run('update', 'app.py:app', '--workers', workers).returncode == 2


def test_update_with_progress_writes_a_line_per_phase_and_task(run):
    result = run('update', 'app.py:app', '--progress')
    assert result.returncode == 0, result.stderr
    err = result.stderr.splitlines()
    assert 'lazyplug: deploy: 1 task' in err
    assert any(line.startswith('lazyplug: deploy: 1 task done in ') for line in err)
    assert any(line.startswith('lazyplug: eval: done ') and line.endswith('(3/3 items)') for line in err)
    assert not any('progress' in line for line in run('update', 'app.py:app').stderr.splitlines())


def test_on_a_terminal_update_shows_a_live_progress_display(app_dir, home):
    code, out = run_in_terminal('update', 'app.py:app', cwd=app_dir, home=home)
    assert code == 0, out
    assert '\x1b[' in out  # drawn, not written line by line
    assert 'deploy\x1b[0m done' in out and 'eval\x1b[0m done' in out
    assert 'deploy ServerModule(up)' in out  # the running task's row, by the module a user made
    assert '_ServerModuleImpl' not in out
    assert '3/3' in out  # the evaluation's items done / total, which a long label pushed off 80 columns
    assert 'lazyplug: deploy:' not in out and 'deploy: 1 task' not in out
    assert "eval Upper(up): {'accuracy': 0.6666666666666666}" in out
    code, out = run_in_terminal('update', 'app.py:app', '--no-progress', cwd=app_dir, home=home)
    assert code == 0 and '\x1b[' not in out and 'lazyplug: deploy:' not in out
    assert '\r\ndeploy: 1 task done in ' in out  # the plain line per phase on standard output instead


def test_progress_shows_when_standard_error_is_a_terminal_though_the_output_is_piped(app_dir, home, tmp_path):
    # as with `lazyplug update ... | tee log`: the progress is drawn on standard error, the terminal
    with open(tmp_path / 'out.txt', 'w') as out:
        code, terminal = run_in_terminal('update', 'app.py:app', cwd=app_dir, home=home, stdout=out)
    assert code == 0, terminal
    assert '\x1b[' in terminal and 'eval\x1b[0m done' in terminal
    printed = (tmp_path / 'out.txt').read_text()
    assert 'deployed ' in printed and '\x1b[' not in printed


SLOW = '''
import time
import lazyplug

class Slow(lazyplug.ModuleBase):
    def forward(self, x):
        print('evaluating', flush=True)
        time.sleep(120)
        return x

slow = Slow()
slow.evalset([1])
app = lazyplug.ActionModule(lazyplug.ServerModule(lambda x: x), slow)
'''


@pytest.mark.parametrize(('sig', 'code'), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_update_stops_what_it_deployed_and_says_so_in_its_exit_code(run, app_dir, home, sig, code):
    (app_dir / 'slow.py').write_text(SLOW)
    with lazyplug_child('update', 'slow.py:app', cwd=app_dir, home=home) as proc:
        for line in proc.stdout:
            if line == 'evaluating\n':
                break
        [entry] = json.loads(run('ps', '--json').stdout)
        proc.send_signal(sig)
        assert proc.wait(30) == code
        assert f'lazyplug: {signal.Signals(sig).name} received; stopping what was deployed' in proc.stderr.read()
        assert_gone(entry['pids'])


# -- eval -----------------------------------------------------------------------------------------

def test_eval_reads_json_lines_and_writes_the_outputs_in_order(run, app_dir):
    (app_dir / 'inputs.jsonl').write_text('"a"\n\n"b"\n{"text": "c"}\n')
    result = run('eval', 'app.py:plain', '--evalset', 'inputs.jsonl', '--out', 'outputs.jsonl', '--progress')
    assert result.returncode == 0, result.stderr
    assert (app_dir / 'outputs.jsonl').read_text() == '"A"\n"B"\n"C"\n'
    assert any(line.endswith('(3/3 items)') for line in result.stderr.splitlines())
    piped = run('eval', 'app.py:app', '--evalset', '-', input='"x"\n"y"\n')
    assert (piped.returncode, piped.stdout) == (0, '"XX!"\n"YY!"\n'), piped.stderr


TRAINABLE = '''
import lazyplug

class Scaler(lazyplug.ModuleBase):
    def __init__(self):
        super().__init__()
        self.factor = None

    def _get_train_tasks(self):
        return self.fit

    def fit(self):
        self.factor = 3

    def forward(self, x):
        if self.factor is None:
            raise RuntimeError('the scaler is not trained')
        return x * self.factor

app = lazyplug.ActionModule(lazyplug.ServerModule(Scaler()))
'''


def test_eval_trains_before_it_deploys_and_evaluates(run, app_dir):
    (app_dir / 'trainable.py').write_text(TRAINABLE)
    result = run('eval', 'trainable.py:app', '--evalset', '-', input='1\n2\n')
    assert (result.returncode, result.stdout) == (0, '3\n6\n'), result.stderr
    untrained = run('eval', 'trainable.py:app', '--evalset', '-', '--mode', 'deploy', input='1\n')
    assert untrained.returncode == 1 and 'the scaler is not trained' in untrained.stderr
    refused = run('eval', 'trainable.py:app', '--evalset', '-', '--mode', 'train,eval', input='1\n')
    assert refused.returncode == 2 and 'eval always runs' in refused.stderr
    assert run('eval', 'trainable.py:app', '--evalset', '-', '--mode', 'serve', input='1\n').returncode == 2


def test_eval_refuses_an_out_file_it_cannot_write_before_deploying(run, app_dir, home):
    (app_dir / 'inputs.jsonl').write_text('"a"\n')
    missing = app_dir / 'no' / 'such' / 'o.jsonl'
    refused = run('eval', 'app.py:app', '--evalset', 'inputs.jsonl', '--out', str(missing), '--progress')
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f'the folder {missing.parent} of' in refused.stderr and 'does not exist' in refused.stderr
    assert 'deploy:' not in refused.stderr and not (home / 'services.sqlite').exists()  # nothing was deployed
    assert run('eval', 'app.py:app', '--evalset', 'inputs.jsonl', '--out', str(app_dir)).returncode == 2


def test_eval_refuses_a_line_that_is_not_json_and_reports_a_failing_item(run, app_dir):
    (app_dir / 'bad.jsonl').write_text('"a"\nnot json\n')
    result = run('eval', 'app.py:plain', '--evalset', 'bad.jsonl')
    assert result.returncode == 2 and 'line 2 of bad.jsonl is not JSON' in result.stderr
    (app_dir / 'numbers.jsonl').write_text('"a"\n3\n')
    failed = run('eval', 'app.py:plain', '--evalset', 'numbers.jsonl')
    assert failed.returncode == 1
    assert "AttributeError: 'int' object has no attribute 'upper'" in failed.stderr
