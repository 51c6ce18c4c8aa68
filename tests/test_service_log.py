"""The log file of a service (lazyplug.serve.log): each service's own errors, rotated past a size."""

import logging

import pytest

from lazyplug import ServerModule
from lazyplug.errors import RemoteError
from lazyplug.serve import log
from lazyplug.services import get_registry

pytestmark = pytest.mark.usefixtures('nothing_left_running')


def fails(kind):
    def forward(x):
        raise kind(f'{kind.__name__} of {x}')
    return forward


@pytest.fixture
def two_services():
    """Two services served by threads of this process, each raising its own error."""
    services = [ServerModule(fails(ValueError), launcher='thread'), ServerModule(fails(KeyError), launcher='thread')]
    for service in services:
        service.start()
    try:
        yield services
    finally:
        for service in services:
            service.stop()


def logged(service):
    return '\n'.join(log.tail(get_registry().lookup(service._impl._module_id).log, 1000))


def test_services_served_from_one_process_each_log_their_own_errors(two_services):
    first, second = two_services
    for service in two_services:
        with pytest.raises(RemoteError):
            service(1)
    assert 'ValueError: ValueError of 1' in logged(first) and 'KeyError' not in logged(first)
    assert "KeyError: 'KeyError of 1'" in logged(second) and 'ValueError' not in logged(second)


def test_a_stopped_service_no_longer_writes_to_its_log():
    before = list(logging.getLogger(log.LOGGER).handlers)
    service = ServerModule(fails(ValueError), launcher='thread')
    service.start()
    assert len(logging.getLogger(log.LOGGER).handlers) == len(before) + 1
    service.stop()
    assert logging.getLogger(log.LOGGER).handlers == before


def test_a_log_past_its_size_is_renamed_and_a_new_one_started(tmp_path, monkeypatch):
    monkeypatch.setattr(log, 'MAX_BYTES', 2000)
    path = str(tmp_path / 'logs' / 'svc.log')
    app = object()
    handler = log.attach(path, app)
    try:
        for i in range(30):
            logging.getLogger(log.LOGGER).error('record %d %s', i, 'x' * 100, extra={'lazyplug_app': app})
            logging.getLogger(log.LOGGER).error('not this app', extra={'lazyplug_app': object()})
    finally:
        log.detach(handler)
    assert (tmp_path / 'logs' / 'svc.log.1').stat().st_size <= 2000
    assert (tmp_path / 'logs' / 'svc.log').stat().st_size <= 2000
    kept = [int(line.split()[-2]) for line in log.tail(path, 1000)]
    assert kept == list(range(kept[0], 30)) and kept[0] > 0  # the newest, in order; the oldest are gone
    assert [int(line.split()[-2]) for line in log.tail(path, 3)] == [27, 28, 29]
