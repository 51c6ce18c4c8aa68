"""What lazyplug writes in its state directory (the registry, the caches, the service logs) is the
user's alone: directories 0700, files 0600, whatever the umask."""

import os
import stat
import subprocess
import sys
import textwrap

from cli_helpers import cli_env

PROGRAM = '''
    import lazyplug
    from lazyplug import cache, config
    from lazyplug.errors import RemoteError

    class Square(lazyplug.ModuleBase):
        def forward(self, x):
            return x * x

    def fails(x):
        raise ValueError(x)

    service = lazyplug.ServerModule(fails)
    service.start()
    try:
        service(1)
    except RemoteError:
        pass
    for strategy in ('sqlite', 'file'):
        with config.temp('cache_strategy', strategy):
            assert Square().use_cache()(3) == 9
    print(service._impl._module_id)
    service.stop()
'''


def test_the_state_directory_and_everything_in_it_are_private_whatever_the_umask(app_dir, home):
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(PROGRAM)], cwd=app_dir, env=cli_env(home),
                            capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.umask(0))
    assert result.returncode == 0, result.stderr
    module_id = result.stdout.strip()
    made = {os.path.relpath(os.path.join(top, name), home): stat.S_IMODE(os.stat(os.path.join(top, name)).st_mode)
            for top, dirs, files in os.walk(home) for name in dirs + files}
    assert {'services.sqlite', 'cache/results.sqlite', f'logs/{module_id}.log'} <= set(made)
    assert any(path.startswith('cache/results/') for path in made)  # the file cache's entries
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    assert {path: mode for path, mode in made.items()
            if mode != (0o700 if os.path.isdir(home / path) else 0o600)} == {}
