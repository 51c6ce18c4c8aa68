"""The SQLite registry's file: private, with no journal left beside it, followed when it is removed
or replaced (what this process published is published again), readable when it cannot be written."""

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import closing

import pytest

from lazyplug.contract_tests import make_entry
from lazyplug.services import sqlite as sqlite_registry_module
from lazyplug.services.sqlite import SqliteRegistry
from state_helpers import as_owner_without_override, read_only


@pytest.fixture
def path(tmp_path):
    return tmp_path / 'state' / 'services.sqlite'


@pytest.fixture
def registry(path):
    with closing(SqliteRegistry(f'sqlite://{path}')) as made:
        yield made


@pytest.fixture
def fast_watch(monkeypatch):
    monkeypatch.setattr(sqlite_registry_module, 'WATCH_INTERVAL', 0.05)


def other_process_view(path):
    """The module ids a registry of another object (as another process would open) lists."""
    with closing(SqliteRegistry(f'sqlite://{path}')) as other:
        return [e.module_id for e in other.list()]


def test_the_file_and_the_directories_it_makes_are_private(registry, path):
    registry.publish(make_entry())
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(path.parent).st_mode & 0o777 == 0o700


def test_no_journal_or_log_file_is_left_beside_the_database(registry, path):
    registry.publish(make_entry())
    registry.lookup('m1')
    assert sorted(os.listdir(path.parent)) == ['services.sqlite']


def test_a_write_ahead_log_file_of_an_older_lazyplug_is_converted(path):
    path.parent.mkdir()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute('PRAGMA journal_mode = WAL')
        conn.execute('CREATE TABLE services (module_id TEXT PRIMARY KEY, entry TEXT NOT NULL)')
    with closing(SqliteRegistry(f'sqlite://{path}')) as registry:
        registry.publish(make_entry())
        assert registry._run(lambda conn: conn.execute('PRAGMA journal_mode').fetchone()[0]) == 'delete'


def test_after_the_file_is_removed_the_next_use_publishes_this_process_entries_in_a_new_one(registry, path):
    registry.publish(make_entry('mine'))
    path.unlink()
    assert registry.lookup('mine') is not None
    assert other_process_view(path) == ['mine']


def test_a_replaced_file_keeps_its_entries_and_gets_this_process_entries(registry, path, tmp_path):
    registry.publish(make_entry('mine'))
    replacement = tmp_path / 'replacement.sqlite'
    with closing(SqliteRegistry(f'sqlite://{replacement}')) as other:
        other.publish(make_entry('theirs', owner_pid=os.getpid()))
    os.replace(replacement, path)
    assert sorted(e.module_id for e in registry.list()) == ['mine', 'theirs']


def test_the_file_is_watched_while_this_process_serves_entries(registry, path, fast_watch):
    registry.publish(make_entry('mine'))
    path.unlink()
    deadline = time.monotonic() + 10
    while not path.exists() or other_process_view(path) != ['mine']:
        assert time.monotonic() < deadline, 'the entry was not published again'
        time.sleep(0.05)


def watch_threads():
    return [t for t in threading.enumerate() if t.name.startswith('lazyplug registry watch')]


def test_the_watch_ends_when_nothing_is_served_and_a_removed_entry_is_not_published_again(registry, path,
                                                                                           fast_watch):
    registry.publish(make_entry('mine'))
    assert len(watch_threads()) == 1
    registry.remove('mine')
    deadline = time.monotonic() + 10
    while watch_threads():
        assert time.monotonic() < deadline, 'the watch thread still runs'
        time.sleep(0.05)
    path.unlink()
    assert registry.list() == []


def test_an_id_taken_in_the_new_file_is_not_published_again(registry, path, sleeper):
    registry.publish(make_entry('contested'))
    path.unlink()
    with closing(SqliteRegistry(f'sqlite://{path}')) as other:
        other.publish(make_entry('contested', pids=[sleeper.pid], owner_pid=sleeper.pid))
    with pytest.warns(RuntimeWarning, match="'contested'.*no longer published here"):
        assert registry.lookup('contested').owner_pid == sleeper.pid
    path.unlink()
    assert registry.list() == []  # not published again: it was another process's by then


READ_ONLY = '''
    import sys
    from lazyplug.contract_tests import make_entry
    from lazyplug.errors import ServiceError
    from lazyplug.services.sqlite import SqliteRegistry
    registry = SqliteRegistry(sys.argv[1])
    print([e.module_id for e in registry.list()])
    try:
        registry.publish(make_entry('more'))
    except ServiceError as exc:
        print(exc)
'''


def test_a_registry_that_cannot_be_written_is_listed_and_refuses_changes_clearly(registry, path, sleeper):
    registry.publish(make_entry('served', pids=[sleeper.pid]))
    registry.publish(make_entry('dead', pids=[2 ** 22 + 1]))  # no such process
    registry.close()
    with read_only(path.parent):
        result = subprocess.run([*as_owner_without_override(), sys.executable, '-c', textwrap.dedent(READ_ONLY),
                                 f'sqlite://{path}'], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    listed, refused = result.stdout.splitlines()
    assert listed == "['served']"
    assert refused == (f'the service registry sqlite://{path} is read-only for this process (its file or directory '
                       'cannot be written): it can be listed, not changed')


def test_a_write_ahead_log_file_of_an_older_lazyplug_is_listed_when_it_cannot_be_written(path, sleeper):
    with closing(SqliteRegistry(f'sqlite://{path}')) as registry:
        registry.publish(make_entry('served', pids=[sleeper.pid]))
    with closing(sqlite3.connect(path)) as conn:
        conn.execute('PRAGMA journal_mode = WAL')  # what lazyplug wrote before; it needs a -shm file to read
    with read_only(path.parent):
        result = subprocess.run([*as_owner_without_override(), sys.executable, '-c', textwrap.dedent(READ_ONLY),
                                 f'sqlite://{path}'], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "['served']"
