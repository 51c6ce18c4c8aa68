"""Service registries: memory:// and sqlite:///path, the liveness of entries (dead and reused
process ids), conflicts between owners, a SQLite file shared by processes, get_registry()."""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing

import pytest

from lazyplug import config
from lazyplug.contract_tests import ServiceRegistryContract, make_entry
from lazyplug.errors import ConfigError
from lazyplug.services import get_registry, liveness
from lazyplug.services.memory import MemoryRegistry
from lazyplug.services.sqlite import SqliteRegistry, parse_url
from lazyplug.testing import forgetting_instances

LINUX_PROC = liveness.start_time(os.getpid()) is not None


def stored_ids(registry):
    """The module ids the registry holds, live or not, read beneath its interface."""
    if isinstance(registry, MemoryRegistry):
        return set(registry._entries)
    with sqlite3.connect(registry.path) as conn:
        return {row[0] for row in conn.execute('SELECT module_id FROM services')}


@pytest.fixture
def sqlite_registry(tmp_path):
    """A SQLite registry in the test's directory (``.url``, ``.path``), closed after the test."""
    with closing(SqliteRegistry(f'sqlite://{tmp_path}/services.sqlite')) as made:
        yield made


@pytest.fixture(params=['memory', 'sqlite'])
def registry(request):
    return MemoryRegistry('memory://') if request.param == 'memory' else request.getfixturevalue('sqlite_registry')


@pytest.fixture
def registries_made_here():
    """Forget (and close) the registries get_registry() makes during the test."""
    with forgetting_instances():
        yield


def child_env():
    return {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}


def start_python(code, *args, **kw):
    return subprocess.Popen([sys.executable, '-c', textwrap.dedent(code), *map(str, args)], env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def finish(procs, timeout=120):
    """Wait for every process (killing them all if one fails or hangs); return their outputs."""
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, err
            outputs.append(out)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    return outputs


# -- the protocol, on both registries ------------------------------------------------------------------

class TestRegistryContract(ServiceRegistryContract):
    """What every registry does (lazyplug.contract_tests), on memory:// and sqlite:///path."""

    @pytest.fixture
    def registry(self, registry):
        return registry


def test_the_entry_of_a_dead_process_is_ignored_and_removed(registry):
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])
    try:
        registry.publish(make_entry('dead', pids=[proc.pid]))
        registry.publish(make_entry('alive'))
        assert registry.lookup('dead') is not None
        proc.kill()
        proc.wait()
        assert registry.lookup('dead') is None
        assert [e.module_id for e in registry.list()] == ['alive']
        assert stored_ids(registry) == {'alive'}
    finally:
        proc.kill()
        proc.wait()


def test_a_dead_entry_is_removed_by_list(registry):
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])
    try:
        registry.publish(make_entry('dead', pids=[proc.pid]))
    finally:
        proc.kill()
        proc.wait()
    assert registry.list() == []
    assert stored_ids(registry) == set()


def test_an_entry_is_live_while_one_of_its_processes_runs(registry, sleeper):
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    registry.publish(make_entry('m1', pids=[proc.pid, sleeper.pid]))
    assert registry.lookup('m1') is not None


@pytest.mark.skipif(not LINUX_PROC, reason='process start times are read from /proc')
def test_a_pid_whose_start_time_differs_from_the_recorded_one_is_dead(registry, monkeypatch):
    real = liveness.start_time(os.getpid())
    monkeypatch.setattr(liveness, 'start_time', lambda pid: real + 1)  # as if the pid had been reused
    registry.publish(make_entry('reused', pids=[os.getpid()]))
    monkeypatch.undo()
    assert registry.lookup('reused') is None
    assert stored_ids(registry) == set()


def test_a_dead_entry_of_another_owner_is_replaced(registry):
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    registry.publish(make_entry('m1', pids=[proc.pid], owner_pid=proc.pid))
    mine = make_entry('m1')
    registry.publish(mine)
    assert registry.lookup('m1') == mine


def test_a_killed_child_not_yet_reaped_is_dead():
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])
    try:
        proc.kill()
        deadline = time.monotonic() + 10
        while liveness.alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not liveness.alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not LINUX_PROC, reason='process start times are read from /proc')
def test_the_start_time_is_read_past_a_command_name_with_spaces_and_parentheses(tmp_path):
    psutil = pytest.importorskip('psutil')
    odd = tmp_path / 'a) 1 2 (b'
    odd.symlink_to(sys.executable)
    proc = subprocess.Popen([str(odd), '-I', '-S', '-c', 'import time; time.sleep(300)'])
    try:
        ticks = liveness.start_time(proc.pid)
        expected = (psutil.Process(proc.pid).create_time() - psutil.boot_time()) * os.sysconf('SC_CLK_TCK')
        assert ticks is not None and abs(ticks - expected) < 2
        assert liveness.alive(proc.pid, ticks) and not liveness.alive(proc.pid, ticks + 1)
    finally:
        proc.kill()
        proc.wait()


def test_no_process_has_pid_zero_or_a_negative_pid():
    assert not liveness.alive(0) and not liveness.alive(-1)


# -- SQLite: URLs, files, processes --------------------------------------------------------------------

@pytest.mark.parametrize('slashes', ['///', '////'])
def test_a_sqlite_url_with_three_or_four_slashes_names_the_absolute_path(tmp_path, slashes):
    path = tmp_path / 'a dir' / 'services.sqlite'
    assert parse_url(f'sqlite:{slashes}{str(path).lstrip("/")}') == str(path)


def test_a_sqlite_url_is_percent_decoded(tmp_path):
    assert parse_url(f'sqlite://{tmp_path}/50%25%20off%23.sqlite') == f'{tmp_path}/50% off#.sqlite'


def test_the_sqlite_registry_creates_the_parent_directory(tmp_path):
    with closing(SqliteRegistry(f'sqlite://{tmp_path}/new/sub/services.sqlite')) as made:
        made.publish(make_entry())
    assert (tmp_path / 'new' / 'sub' / 'services.sqlite').is_file()


@pytest.mark.parametrize('url', [
    'sqlite://', 'sqlite:///', 'sqlite:////', 'sqlite://host/tmp/services.sqlite',
    'sqlite:///tmp/services.sqlite?mode=ro', 'sqlite:///tmp/services.sqlite#x', 'sqlite:///tmp/dir/',
])
def test_a_malformed_sqlite_url_is_a_config_error_naming_it(url):
    with pytest.raises(ConfigError, match='sqlite:///absolute/path') as info:
        SqliteRegistry(url)
    assert repr(url) in str(info.value)


def test_a_corrupt_sqlite_row_is_dropped_not_an_error(sqlite_registry):
    made = sqlite_registry
    made.publish(make_entry('good'))
    with sqlite3.connect(made.path) as conn:
        conn.executemany('INSERT INTO services (module_id, entry) VALUES (?, ?)',
                         [('junk', '{not json'), ('wrong', json.dumps({'module_id': 'wrong', 'pids': 'x'}))])
    assert made.lookup('junk') is None
    assert [e.module_id for e in made.list()] == ['good']
    assert stored_ids(made) == {'good'}


PUBLISH_ONE = '''
    import os, sys, time
    from lazyplug.services import ServiceEntry
    from lazyplug.services.sqlite import SqliteRegistry
    url, pid = sys.argv[1], int(sys.argv[2])
    SqliteRegistry(url).publish(ServiceEntry('theirs', ['http://127.0.0.1:9100'], [pid], time.time(), 'Theirs',
                                             os.getpid()))
'''


def test_an_entry_published_by_another_process_is_found_in_sqlite(sqlite_registry):
    proc = start_python(PUBLISH_ONE, sqlite_registry.url, os.getpid())
    finish([proc])
    entry = sqlite_registry.lookup('theirs')
    assert entry is not None and entry.owner_pid == proc.pid and entry.urls == ['http://127.0.0.1:9100']


PUBLISH_MANY = '''
    import os, sys, time
    from lazyplug.services import ServiceEntry
    from lazyplug.services.sqlite import SqliteRegistry
    url, go, prefix, count, pid = sys.argv[1:]
    registry = SqliteRegistry(url)
    while not os.path.exists(go):
        time.sleep(0.002)
    for i in range(int(count)):
        registry.publish(ServiceEntry(f'{prefix}-{i}', [f'http://127.0.0.1:{9000 + i}'], [int(pid)], time.time(),
                                      prefix, int(pid)))
'''


def test_concurrent_processes_publishing_different_ids_all_succeed(sqlite_registry, tmp_path):
    go = tmp_path / 'go'
    procs = [start_python(PUBLISH_MANY, sqlite_registry.url, go, f'p{n}', 20, os.getpid()) for n in range(5)]
    go.touch()
    finish(procs)
    ids = {e.module_id for e in sqlite_registry.list()}
    assert ids == {f'p{n}-{i}' for n in range(5) for i in range(20)}


PUBLISH_CONTESTED = '''
    import os, sys, time
    from lazyplug.errors import ServiceConflictError
    from lazyplug.services import ServiceEntry
    from lazyplug.services.sqlite import SqliteRegistry
    url, go, count, pid = sys.argv[1:]
    registry = SqliteRegistry(url)
    while not os.path.exists(go):
        time.sleep(0.002)
    for i in range(int(count)):
        try:
            registry.publish(ServiceEntry(f'contested-{i}', [f'http://127.0.0.1:{os.getpid()}'], [int(pid)],
                                          time.time(), 'c', os.getpid()))
        except ServiceConflictError:
            pass
        else:
            print(f'contested-{i}')
'''


def test_of_processes_publishing_the_same_ids_at_once_exactly_one_wins_each(sqlite_registry, tmp_path):
    go = tmp_path / 'go'
    procs = [start_python(PUBLISH_CONTESTED, sqlite_registry.url, go, 30, os.getpid()) for _ in range(5)]
    go.touch()
    won = {proc.pid: out.split() for proc, out in zip(procs, finish(procs))}
    winners = {module_id: pid for pid, ids in won.items() for module_id in ids}
    assert sorted(winners) == sorted(f'contested-{i}' for i in range(30))
    assert sum(map(len, won.values())) == 30  # no id won twice
    assert {e.module_id: e.owner_pid for e in sqlite_registry.list()} == winners


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
@pytest.mark.filterwarnings('ignore:This process .* is multi-threaded:DeprecationWarning')
def test_a_forked_child_uses_its_own_sqlite_connection(sqlite_registry):
    made = sqlite_registry
    made.publish(make_entry('parent'))
    pid = os.fork()
    if pid == 0:  # the child: publish through the inherited object, then leave at once
        code = 1
        try:
            made.publish(make_entry('child', pids=[os.getppid()], owner_pid=os.getppid()))
            # what it publishes again in a new file is its own, not its parent's
            code = 0 if made.lookup('parent') is not None and list(made._owned) == ['child'] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert {e.module_id for e in made.list()} == {'parent', 'child'}


# -- get_registry --------------------------------------------------------------------------------------

def test_the_default_registry_is_a_sqlite_file_under_home(tmp_path, registries_made_here):
    with config.temp('home', str(tmp_path)), config.temp('registry', ''):
        made = get_registry()
        made.publish(make_entry())
    assert isinstance(made, SqliteRegistry) and made.path == str(tmp_path / 'services.sqlite')
    assert (tmp_path / 'services.sqlite').is_file()


def test_the_default_registry_url_keeps_unusual_home_paths(tmp_path, registries_made_here):
    home = tmp_path / 'my home #1 ?50% off'
    with config.temp('home', str(home)), config.temp('registry', ''):
        assert get_registry().path == str(home / 'services.sqlite')


def test_the_registry_setting_names_the_default_registry(tmp_path, registries_made_here):
    with config.temp('registry', 'memory://test-setting'):
        made = get_registry()
    assert isinstance(made, MemoryRegistry) and made.url == 'memory://test-setting'


def test_get_registry_makes_one_registry_per_url(tmp_path, registries_made_here):
    first = get_registry(f'sqlite://{tmp_path}/a.sqlite')
    assert get_registry(f'sqlite://{tmp_path}/a.sqlite') is first
    assert get_registry(f'sqlite://{tmp_path}/b.sqlite') is not first


def test_an_unknown_scheme_is_a_config_error_naming_every_scheme(registries_made_here, fresh_plugins):
    with config.temp('plugins', ()), pytest.raises(ConfigError) as info:  # the built-in schemes only
        get_registry('nosuch://localhost:6379/0')
    assert str(info.value) == ("no service registry for 'nosuch://localhost:6379/0': registry URLs are "
                               'scheme://...; schemes: memory, sqlite (built in)')


def test_a_malformed_sqlite_url_given_to_get_registry_is_a_config_error(registries_made_here):
    with pytest.raises(ConfigError, match='host'):
        get_registry('sqlite://server/tmp/services.sqlite')


def test_importing_lazyplug_loads_neither_sqlite3_nor_json():
    code = 'import sys, lazyplug; print(sorted({"sqlite3", "json", "lazyplug.services"} & set(sys.modules)))'
    result = subprocess.run([sys.executable, '-c', code], env=child_env(), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'


def test_an_entry_records_the_node_of_its_process_ids_and_keeps_it_through_a_registry(registry):
    from lazyplug.services import ServiceEntry
    here = make_entry('here')
    assert here.node == liveness.node_id() and here.to_dict()['node'] == here.node
    there = ServiceEntry('there', ['http://127.0.0.1:9000'], [os.getpid()], time.time(), node='machine-a/pid:[1]')
    registry.publish(there)
    assert registry.lookup('there').node == 'machine-a/pid:[1]'


def test_an_entry_written_without_a_node_has_an_unknown_one():
    from lazyplug.services import ServiceEntry
    old = {'module_id': 'm', 'urls': ['http://127.0.0.1:9000'], 'pids': [1], 'started': 0.0, 'name': 'x',
           'owner_pid': 1}
    assert ServiceEntry.from_dict(old).node == ''


def test_the_node_id_names_this_kernel_and_pid_namespace():
    if os.path.exists('/proc/sys/kernel/random/boot_id'):
        with open('/proc/sys/kernel/random/boot_id') as f:
            assert liveness.node_id() == f'{f.read().strip()}/{os.readlink("/proc/self/ns/pid")}'
    assert liveness.node_id()
