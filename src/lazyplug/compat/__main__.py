"""``python -m lazyplug.compat script.py [args]`` (or ``-m module [args]``, ``-c code [args]``):
run a program written for LazyLLM in lazyplug's LazyLLM compatibility mode."""

from __future__ import annotations

import os
import runpy
import sys

from . import install

USAGE = '''usage: python -m lazyplug.compat (script.py | -m module | -c code) [args...]

Runs a program written for LazyLLM on lazyplug: `import lazyllm` is lazyplug, `bind` and
`package` are builtins (see lazyplug.compat).'''


def main(argv: list[str]) -> int:
    """Run what ``argv`` names (as ``python`` would) with the compatibility mode on; the exit status."""
    if not argv or argv[0] in ('-h', '--help') or (argv[0] in ('-m', '-c') and len(argv) < 2):
        print(USAGE, file=sys.stdout if argv and argv[0] in ('-h', '--help') else sys.stderr)
        return 0 if argv and argv[0] in ('-h', '--help') else 2
    install()
    if argv[0] == '-m':
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name='__main__', alter_sys=True)
    elif argv[0] == '-c':
        sys.argv = ['-c', *argv[2:]]
        exec(compile(argv[1], '<string>', 'exec'), {'__name__': '__main__', '__builtins__': __builtins__})
    else:
        script = argv[0]
        if not os.path.exists(script):
            print(f'python -m lazyplug.compat: cannot open {script!r}: no such file', file=sys.stderr)
            return 2
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python script.py` does
        runpy.run_path(script, run_name='__main__')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
