"""The documentation's examples run as written."""

import os
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


def test_the_readme_opens_with_the_two_commands():
    commands = re.search(r'```bash\n(.*?)```', (ROOT / 'README.md').read_text(), re.S).group(1).splitlines()
    venv = 'python3 -m venv .venv && . .venv/bin/activate && '
    assert commands[0] == venv + 'pip install . plugins/lazyplug-sklearn && lazyplug update examples/digits.py:app'
    assert commands[1].startswith(venv + 'pip install tox && tox ')
    # CI runs the second command as written
    assert venv + 'pip install -q tox && tox run' in (ROOT / '.ci' / 'run').read_text()
    assert len(commands) == 2


def test_the_tour_runs():
    result = subprocess.run([sys.executable, str(ROOT / 'examples' / 'tour.py')], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'Module m2-2 deployed!' in result.stdout


def test_the_readme_command_line_section_runs_as_written(tmp_path):
    section = (ROOT / 'README.md').read_text().split('## Command line\n', 1)[1].split('\n## ', 1)[0]
    code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    commands = [line.split('#', 1)[0].split() for line in
                re.search(r'```bash\n(.*?)```', section, re.S).group(1).splitlines()]
    (tmp_path / 'app.py').write_text(code)
    (tmp_path / 'in.jsonl').write_text('"x"\n"y"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    env['LAZYPLUG_HOME'] = str(tmp_path / 'home')

    def lazyplug(*args):
        result = subprocess.run([sys.executable, '-m', 'lazyplug', *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    for command in commands:
        assert command[0] == 'lazyplug'
        if 'ID' in command or '--serve' in command:  # they need a second terminal: test_cli.py runs them
            lazyplug(command[1], '--help')
            continue
        out = lazyplug(*command[1:])
        if command[1] == 'update':
            assert "eval Upper: {'outputs': ['A', 'B']}" in out
    assert (tmp_path / 'out.jsonl').read_text() == '"X"\n"Y"\n'


def test_the_plugin_guides_examples_are_the_files_they_come_from():
    guide = ROOT / 'plugins' / 'README.md'
    examples = re.findall(r'<!-- example: (\S+) -->\n```\w*\n(.*?)```', guide.read_text(), re.S)
    assert len(examples) == 3
    for path, text in examples:
        assert text in (guide.parent / path).read_text(), f'plugins/README.md shows what {path} does not hold'


def test_the_readme_compatibility_example_runs_as_written_for_lazyllm(tmp_path):
    section = (ROOT / 'README.md').read_text().split('## LazyLLM code, unchanged\n', 1)[1].split('\n## ', 1)[0]
    (tmp_path / 'app.py').write_text(re.search(r'```python\n(.*?)```', section, re.S).group(1))
    result = subprocess.run([sys.executable, '-m', 'lazyplug.compat', 'app.py'], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '[[3 + 2] + 1]\n'


def test_the_architecture_document_names_every_module_and_every_hook():
    text = (ROOT / 'docs' / 'architecture.md').read_text()
    from lazyplug import hookspecs
    missing = [name for name in vars(hookspecs) if name.startswith('lazyplug_') and f'`{name}(' not in text]
    assert not missing, f'docs/architecture.md lacks the hooks {missing}'
    package = ROOT / 'src' / 'lazyplug'
    for path in package.rglob('*.py'):
        parts = path.relative_to(package).with_suffix('').parts
        parts = parts[:-1] if parts[-1] == '__init__' else parts
        if not parts:
            continue
        dotted = 'lazyplug.' + '.'.join(parts)
        # a submodule may be named inside its package's row: `lazyplug.flow` (`base`, ...)
        named = f'`{dotted}`' in text or (len(parts) == 2 and f'`lazyplug.{parts[0]}` (' in text
                                           and f'`{parts[1]}`' in text.split(f'`lazyplug.{parts[0]}` (', 1)[1][:300])
        assert named, f'docs/architecture.md does not place {dotted} in a layer'
