"""Where the ray launcher deploys: a local Ray instance of its own, or a running cluster; and what
installing the plugin costs a process that does not deploy on Ray."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import psutil
import pytest

from ray_helpers import assert_nothing_left, lazyplug_command, survivors, wait_until


def run(script, lines=None, **env):
    """The words ``script`` printed; with ``lines``, those of the lines it printed starting with
    ``lines`` (Ray prints the log lines of its processes among the driver's)."""
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(script)], capture_output=True, text=True,
                            timeout=240, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    if lines is None:
        return result.stdout.split()
    return [word for line in result.stdout.splitlines() if line.startswith(lines) for word in line.split()[1:]]


def test_installing_the_plugin_lists_it_and_imports_no_ray():
    listed = run('''
        import sys
        import lazyplug
        from lazyplug.plugins import list_plugins
        print(*[info.status for info in list_plugins() if info.distribution == 'lazyplug-ray'], 'ray' in sys.modules)
    ''')
    assert listed == ['loaded', 'False']


def test_the_lazyplug_command_lists_the_plugin():
    command = lazyplug_command()
    result = subprocess.run([*command, 'plugins', '--json'], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [ray] = [c for c in json.loads(result.stdout) if c['distribution'] == 'lazyplug-ray']
    assert ray['launchers'] == ['ray']
    assert [(p['name'], p['status'], p['hooks']) for p in ray['hook_plugins']] == [
        ('ray', 'loaded', ['lazyplug_register_launchers'])]


def test_without_a_cluster_a_local_ray_is_started_for_the_application_and_shut_down_with_it():
    ray_tmp = tempfile.mkdtemp(prefix='lpray-own-')
    try:
        printed = run('''
            import psutil
            import ray
            from lazyplug import ServerModule

            def double(x):
                return 2 * x

            sm = ServerModule(double, launcher='ray')
            sm.start()
            print('>', sm(4), ray.is_initialized())
            sm.stop()
            print('>', ray.is_initialized())
            # and when the application ends without stopping what it started
            ServerModule(double, launcher='ray').start()
            print('>', ray.is_initialized())
            print('>', *[p.pid for p in psutil.Process().children(recursive=True)])  # Ray's servers and workers
        ''', RAY_TMPDIR=ray_tmp, LAZYPLUG_RAY_ADDRESS='', lines='>')
        assert printed[:4] == ['8', 'True', 'False', 'True'] and len(printed) > 4
        rays = [psutil.Process(int(pid)) for pid in printed[4:] if psutil.pid_exists(int(pid))]
        assert wait_until(lambda: not survivors(rays, ray_tmp)), survivors(rays, ray_tmp)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


@pytest.mark.usefixtures('nothing_left')
def test_an_address_deploys_on_that_cluster_and_its_services_end_with_the_application(ray_cluster):
    printed = run('''
        import os
        from lazyplug import ServerModule
        from ray.util.state import list_actors

        def whoami(_):
            return os.getpid()

        sm = ServerModule(whoami, launcher='ray', num_replicas=2)
        sm.start()
        served_by = {sm(i) for i in range(4)}
        replicas = [('class_name', '=', 'ServiceReplica')]
        actors = list_actors(address=os.environ['LAZYPLUG_RAY_ADDRESS'], filters=replicas)
        alive = [a.pid for a in actors if a.state == 'ALIVE']
        print(len(served_by), sorted(served_by) == sorted(alive))
    ''', LAZYPLUG_RAY_ADDRESS=ray_cluster)
    assert printed == ['2', 'True']
    assert_nothing_left()  # the replicas were the application's: they end with it
