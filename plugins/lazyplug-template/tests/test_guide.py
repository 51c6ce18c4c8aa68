"""plugins/README.md, the guide to writing plugins, shows this template as it is: every file it
quotes, every hook lazyplug has, and the commands the ``template`` tox environment runs."""

import configparser
import re
from pathlib import Path

import lazyplug.hookspecs

PLUGINS = Path(__file__).resolve().parents[2]
GUIDE = (PLUGINS / 'README.md').read_text()


def quoted(kind):
    """``(path, text)`` of every code block the guide marks with ``<!-- kind: path -->``."""
    return re.findall(rf'<!-- {kind}: (\S+) -->\n```\w*\n(.*?)```', GUIDE, re.S)


def test_the_files_the_guide_shows_are_the_templates_files():
    files = quoted('file')
    assert {path for path, _ in files} == {'lazyplug-template/pyproject.toml',
                                            'lazyplug-template/src/lazyplug_template/modules.py',
                                            'lazyplug-template/src/lazyplug_template/timing.py'}
    for path, text in files:
        assert text == (PLUGINS / path).read_text(), f'the guide shows another {path}'


def test_the_tests_the_guide_shows_are_in_the_templates_tests():
    excerpts = quoted('excerpt')
    assert excerpts
    for path, text in excerpts:
        held = (PLUGINS / path).read_text()
        for part in text.split('\n\n\n'):  # the excerpt picks whole blocks: the imports, some tests
            assert part.strip() in held, f'the guide quotes what {path} does not hold: {part}'


def test_the_guide_lists_every_hook_with_a_link_to_its_specification():
    hooks = {name for name in vars(lazyplug.hookspecs) if name.startswith('lazyplug_')}
    listed = set(re.findall(r'\[`(lazyplug_\w+)`\]\(\.\./src/lazyplug/hookspecs\.py\)', GUIDE))
    assert listed == hooks


def test_the_tox_environment_installs_and_tests_the_template_as_the_guide_says():
    commands = dict(quoted('commands'))['install'].splitlines()
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(PLUGINS.parent / 'tox.ini')
    env = tox['testenv:template']
    ran = [line.strip() for line in (env['commands_pre'] + '\n' + env['commands']).splitlines() if line.strip()]
    assert ran == [re.sub(r'(plugins/\S+/tests)$', r'{posargs:\1}', command) for command in commands]
