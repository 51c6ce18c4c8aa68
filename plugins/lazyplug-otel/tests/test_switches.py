"""The plugin among lazyplug's plugins: listed with what it adds, switched off by its setting or
by OpenTelemetry's, blocked like any plugin; off or blocked, no call pays for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import lazyplug
import pytest
from lazyplug import config, plugins
from lazyplug.flow.pipelines import Pipeline
from lazyplug.host import host
from lazyplug.module import ModuleBase

CALL_HOOKS = ['lazyplug_flow_call', 'lazyplug_module_call', 'lazyplug_run_phase', 'lazyplug_run_task',
              'lazyplug_serve_call', 'lazyplug_service_call', 'lazyplug_update']


def run(args, **env):
    """Run ``args`` with the environment, less LAZYPLUG_* and OTEL_* variables, plus ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(('LAZYPLUG_', 'OTEL_'))}
    full.update(env)
    return subprocess.run(args, env=full, capture_output=True, text=True, timeout=120)


STATE = '''
    import json, sys, lazyplug
    from lazyplug.host import host
    lazyplug.pipeline(lambda x: x)(1)
    otel = {p.name: p for p in lazyplug.plugins.list_plugins()}['otel']
    print(json.dumps({'status': otel.status, 'hooks': list(otel.hooks), 'flags': host.flags.as_dict(),
                      'plain': type(lazyplug.pipeline()).__call__ is type(lazyplug.pipeline())._lazyplug_call,
                      'imported': 'lazyplug_otel' in sys.modules}))
'''


def state(tmp_path, **env):
    result = run([sys.executable, '-c', textwrap.dedent(STATE)], LAZYPLUG_HOME=str(tmp_path), **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_lazyplug_plugins_lists_the_plugin_with_its_hooks_and_command(tmp_path):
    result = run(['lazyplug', 'plugins', '--json'], LAZYPLUG_HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    mine, = [d for d in json.loads(result.stdout) if d['distribution'] == 'lazyplug-otel']
    otel, = mine['hook_plugins']
    assert (otel['name'], otel['status']) == ('otel', 'loaded')
    assert sorted(otel['hooks']) == sorted([*CALL_HOOKS, 'lazyplug_register_commands'])
    assert mine['commands'] == ['trace']


def test_on_it_wraps_every_call(tmp_path):
    found = state(tmp_path)
    assert found['status'] == 'loaded' and found['flags']['module_call'] and found['flags']['flow_call']
    assert not found['plain']


@pytest.mark.parametrize('env', [{'LAZYPLUG_OTEL': '0'}, {'OTEL_SDK_DISABLED': 'true'}], ids=['setting', 'otel'])
def test_switched_off_it_adds_only_its_command_and_calls_take_the_fast_path(tmp_path, env):
    found = state(tmp_path, **env)
    assert found['status'] == 'loaded' and found['hooks'] == ['lazyplug_register_commands']
    assert not any(found['flags'][name] for name in ('module_call', 'flow_call', 'run_task', 'service_call'))
    assert found['plain']  # a flow's own __call__: nothing of the plugin on the way
    assert not (tmp_path / 'traces.sqlite3').exists()


def test_blocked_it_is_not_even_imported_and_adds_no_command(tmp_path):
    found = state(tmp_path, LAZYPLUG_DISABLED_PLUGINS='otel')
    assert found['status'] == 'blocked' and not found['imported']
    assert not found['flags']['module_call'] and found['plain']
    command = run(['lazyplug', 'trace'], LAZYPLUG_HOME=str(tmp_path), LAZYPLUG_DISABLED_PLUGINS='otel')
    assert command.returncode == 2 and "the command 'trace' comes from the lazyplug-otel plugin" in command.stderr
    assert 'LAZYPLUG_DISABLED_PLUGINS' in command.stderr  # what left it out


def test_turned_off_before_the_plugins_load_again_the_fast_paths_come_back(lazyplug_isolated):
    plugins.get_plugin_manager()
    assert host.flags.module_call and Pipeline.__call__ is not Pipeline._lazyplug_call
    with config.temp('otel', False):
        plugins.reset()
        plugins.get_plugin_manager()
        assert not host.flags.module_call and not host.flags.flow_call
        assert Pipeline.__call__ is Pipeline._lazyplug_call
        assert ModuleBase.__call__ is not ModuleBase._hooked_call
        assert lazyplug.pipeline(lambda x: x + 1)(1) == 2
