"""WebModule as a module: deployed in the deploy phase, its address, its arguments, the page it serves."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request

import lazyplug
import pytest
from lazyplug import ActionModule, ModuleBase, ServerModule
from lazyplug.errors import InvalidArgumentError, TaskFailedError
from lazyplug.services import get_registry

from lazyplug_web import WebModule


class Letters(ModuleBase):
    def forward(self, text):
        yield from text


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers['Content-Type'], response.read().decode()


def test_lazyplug_web_module_is_this_class():
    assert lazyplug.WebModule is WebModule


def test_the_page_is_served_from_the_deploy_phase_and_stopped_with_the_module(started):
    web = WebModule(Letters(), title='Letters')
    assert web.url is None
    started(web)
    status, kind, text = get(web.url)
    assert status == 200 and kind.startswith('text/html') and '<title>Letters</title>' in text
    assert list(web.stream('ab')) == ['a', 'b']  # the module's wire, beside the page
    url = web.url
    web.stop()
    assert web.url is None
    with pytest.raises(urllib.error.URLError):
        get(url)


class Learner(ModuleBase):
    """Streams what it learnt in the train phase, then its input."""

    def __init__(self):
        super().__init__()
        self.learnt = None

    def _get_train_tasks(self):
        return self._learn

    def _learn(self):
        self.learnt = 'learnt '

    def forward(self, text):
        yield self.learnt
        yield text


def test_update_trains_the_module_then_serves_the_page():
    web = WebModule(Learner(), title='Learner')
    try:
        assert web.update() is web
        assert get(web.url)[0] == 200
        assert list(web.stream('x')) == ['learnt ', 'x']
    finally:
        web.stop()
    assert web.url is None


def test_a_web_module_inside_an_action_module_is_deployed_after_what_it_shows(started):
    served = ServerModule(Letters(), launcher='thread')
    web = WebModule(lazyplug.pipeline(str.strip, served))
    app = started(ActionModule(web))
    assert served._url is not None and web.url is not None
    assert web('  hey ') == 'hey'
    app.stop()
    assert served._url is None and web.url is None


def test_the_page_is_published_in_the_service_registry(started):
    web = started(WebModule(Letters(), title='Listed'))
    [entry] = [e for e in get_registry().list() if e.urls == [web.url]]
    assert entry.name == 'Listed on a WebModule page'


def test_wait_returns_once_the_page_is_stopped(started):
    web = started(WebModule(Letters()))
    threading.Timer(0.2, web.stop).start()
    web.wait()
    assert web.url is None


def test_a_port_list_gives_the_first_free_port(started):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            free = probe.getsockname()[1]
        web = started(WebModule(Letters(), port=[busy, free]))
        assert web.url == f'http://127.0.0.1:{free}'


@pytest.mark.parametrize('arguments, words', [
    ({'m': None}, 'module, flow or callable'),
    ({'m': 'http://127.0.0.1:1'}, 'module, flow or callable'),
    ({'m': str.upper, 'port': 0}, 'port must be'),
    ({'m': str.upper, 'port': 'auto'}, 'port must be'),
    ({'m': str.upper, 'port': []}, 'port must be'),
    ({'m': str.upper, 'stream': 'yes'}, 'stream must be True or False'),
    ({'m': str.upper, 'title': 3}, 'title must be a string'),
])
def test_bad_arguments_are_refused_naming_them(arguments, words):
    with pytest.raises(InvalidArgumentError, match=words):
        WebModule(**arguments)


def test_a_page_beyond_loopback_needs_a_key():
    web = WebModule(str.upper, host='0.0.0.0')
    with pytest.raises(TaskFailedError, match='needs a security key'):
        web.start()


def test_the_page_fetches_nothing_from_elsewhere_and_names_its_settings(started):
    web = started(WebModule(Letters(), stream=False))
    text = get(web.url)[2]
    assert 'http://' not in text and 'https://' not in text
    assert 'src=' not in text and '<link' not in text  # one document: no script, style or font to fetch
    assert '{"stream": false, "keyed": false}' in text


def test_the_title_and_the_tree_are_escaped_in_the_page(started):
    class Tricky(ModuleBase):
        name = '</pre><script>alert(1)</script>'

        def forward(self, x):
            return x

    text = get(started(WebModule(Tricky(), title='<b>bold</b>')).url)[2]
    assert '<b>bold</b>' not in text and '&lt;b&gt;bold&lt;/b&gt;' in text
    assert '<script>alert(1)</script>' not in text


def test_the_tree_needs_the_key_of_a_keyed_page(started):
    web = started(WebModule(Letters(), security_key='sk-tree'))
    assert '<Module type=Letters' not in get(web.url)[2]
    with pytest.raises(urllib.error.HTTPError) as info:
        get(web.url + '/tree')
    assert info.value.code == 401
    request = urllib.request.Request(web.url + '/tree', headers={'Security-Key': 'sk-tree'})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read().decode().startswith('<Module type=Letters')


def test_the_repr_shows_the_title_and_the_module():
    assert repr(WebModule(Letters(), title='T')).splitlines()[:2] == [
        '<Module type=Web title=T stream=True>', ' └- <Module type=Letters>']
