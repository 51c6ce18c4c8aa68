"""The LazyLLM compatibility mode (lazyplug.compat): code written for LazyLLM runs unchanged, and
plain `import lazyplug` touches nothing outside lazyplug."""

import builtins
import subprocess
import sys
import textwrap

import pytest

import lazyplug
from lazyplug import compat
from lazyplug.errors import InvalidArgumentError

LAZYLLM_SCRIPT = '''
import sys
import lazyllm
from lazyllm import pipeline, parallel, _0
from lazyllm.common import package, kwargs
from lazyllm.flow.flow import FlowException
from lazyllm.module.module import ModuleBase, ModuleExecutionError
from lazyllm.launcher import cleanup

def f1(input): return dict(a=input[0], b=input[1])
def f2(input): return input['a'] + input['b']
def f3(input, extra): return f'[{input} + {extra}]'

with pipeline() as p1:
    p1.f1 = f1
    with pipeline() as p1.p2:
        p2.f2 = f2                                   # p2: a global made by the with-statement
        p2.f3 = f3 | bind(extra=p2.input['b'])       # bind: a builtin
    p1.f3 = f3 | bind(extra=p1.input[0])

assert lazyllm is sys.modules['lazyplug'] and ModuleBase is lazyllm.module.ModuleBase
assert package is lazyllm.package is builtins_package and lazyllm.common.kwargs is kwargs
try:
    pipeline(lambda x: 1 / x)(0)
except FlowException as exc:
    caught = type(exc).__name__
print(p1([1, 2]), lazyllm.flow.flow.FlowException is ModuleExecutionError, caught, sys.argv[1:])
'''


def run(*args, cwd=None):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_a_script_written_for_lazyllm_runs_unchanged_in_the_compatibility_mode(tmp_path):
    script = tmp_path / 'app.py'
    script.write_text('import builtins\nbuiltins_package = builtins.package\n' + LAZYLLM_SCRIPT)
    done = run('-m', 'lazyplug.compat', str(script), 'a', '--flag')
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[[3 + 2] + 1] True ZeroDivisionError ['a', '--flag']"]


def test_modules_and_code_run_in_the_compatibility_mode_too(tmp_path):
    (tmp_path / 'lazyllm_app.py').write_text('import lazyllm, sys\nprint(lazyllm.__name__, sys.argv[1:])\n')
    done = run('-m', 'lazyplug.compat', '-m', 'lazyllm_app', 'x', cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "lazyplug ['x']\n"), done.stderr
    done = run('-m', 'lazyplug.compat', '-c', 'import lazyllm.common as c, sys; print(c.bind is bind, sys.argv)', 'y')
    assert (done.returncode, done.stdout) == (0, "True ['-c', 'y']\n"), done.stderr


def test_the_exit_status_and_the_errors_of_the_program_are_its_own(tmp_path):
    (tmp_path / 'fails.py').write_text('import lazyllm\nraise SystemExit(3)\n')
    assert run('-m', 'lazyplug.compat', str(tmp_path / 'fails.py')).returncode == 3
    done = run('-m', 'lazyplug.compat', '-c', 'import lazyllm.components')
    assert done.returncode == 1
    assert ("No module named 'lazyllm.components': lazyplug's LazyLLM compatibility mode provides lazyllm, "
            'lazyllm.common') in done.stderr


def test_a_bad_command_line_is_a_usage_error():
    for args in ([], ['-m'], ['does-not-exist.py']):
        done = run('-m', 'lazyplug.compat', *args)
        assert done.returncode == 2 and done.stderr, args
    assert run('-m', 'lazyplug.compat', '--help').stdout.startswith('usage: python -m lazyplug.compat')


def test_plain_import_lazyplug_touches_neither_builtins_nor_the_callers_namespace():
    code = textwrap.dedent('''
        import builtins, sys
        import lazyplug
        from lazyplug import pipeline
        with pipeline() as p1:
            with pipeline() as p1.p2:
                p1.p2.f = len
        print(hasattr(builtins, 'bind'), hasattr(builtins, 'package'), 'lazyllm' in sys.modules,
              'p2' in globals(), 'lazyplug.compat' in sys.modules)
    ''')
    done = run('-c', code)
    assert (done.returncode, done.stdout) == (0, 'False False False False False\n'), done.stderr


@pytest.fixture
def compat_mode():
    compat.install()
    try:
        yield
    finally:
        compat.uninstall()


def test_install_and_uninstall_in_a_running_interpreter(compat_mode):
    import lazyllm
    from lazyllm.common import package
    assert compat.installed() and lazyllm is lazyplug and package is lazyplug.package
    assert builtins.bind is lazyplug.bind and lazyplug.config['parallel_multiprocessing'] is False
    compat.install()  # a second install does nothing
    compat.uninstall()
    assert not compat.installed() and not hasattr(builtins, 'bind') and 'lazyllm' not in sys.modules
    assert not hasattr(lazyplug.flow, 'flow') and not hasattr(lazyplug, 'common')
    assert not any(type(finder).__module__ == 'lazyplug.compat' for finder in sys.meta_path)
    compat.install()  # for the fixture to undo


def test_install_refuses_when_the_real_lazyllm_is_imported_already(monkeypatch):
    monkeypatch.setitem(sys.modules, 'lazyllm', type(sys)('lazyllm'))
    with pytest.raises(InvalidArgumentError, match='lazyllm is imported already'):
        compat.install()
    assert not compat.installed() and not hasattr(builtins, 'bind')


def test_lazyllms_multiprocessing_setting_can_only_be_off(monkeypatch):
    monkeypatch.setenv('LAZYPLUG_PARALLEL_MULTIPROCESSING', '1')
    done = run('-m', 'lazyplug.compat', '-c', 'import lazyllm; lazyllm.config["parallel_multiprocessing"]')
    assert done.returncode == 1 and 'threads only' in done.stderr
