"""The documentation's examples run as written."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_readme_example_runs_and_prints_what_it_says(capsys):
    text = (ROOT / 'README.md').read_text()
    code = re.search(r'## A module in ten lines\n\n```python\n(.*?)```', text, re.S).group(1)
    exec(compile(code, 'README.md', 'exec'), {})
    assert capsys.readouterr().out == 'a deployed\nA SAYS HELLO\n'


def test_the_readme_opens_with_the_three_commands():
    commands = re.search(r'```bash\n(.*?)```', (ROOT / 'README.md').read_text(), re.S).group(1).splitlines()
    assert commands[0].startswith('python3 -m pip install . plugins/lazyplug-sklearn && '
                                  'lazyplug update examples/digits.py:app')
    assert commands[1].startswith('python3 examples/tour.py')
    assert commands[2].startswith('python3 -m pip install tox && python3 -m tox')


def test_the_tour_runs():
    result = subprocess.run([sys.executable, str(ROOT / 'examples' / 'tour.py')], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'Module m2-2 deployed!' in result.stdout
