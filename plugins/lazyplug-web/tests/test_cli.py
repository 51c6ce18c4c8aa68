"""``lazyplug web TARGET`` and ``lazyplug update app.py:web --serve``, through real processes."""

from __future__ import annotations

import json
import signal
import textwrap
import urllib.request

import pytest

from web_helpers import first_line, lazyplug_cmd

APP = '''
    import lazyplug

    def words(text):
        for word in text.split():
            yield word.upper() + ' '

    app = lazyplug.pipeline(str.strip, lazyplug.ServerModule(words))
    web = lazyplug.WebModule(app, title='Shouting')
'''


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / 'app.py').write_text(textwrap.dedent(APP))
    return tmp_path


def call_page(url, text):
    """What the page's script does: POST /call with "stream": true; the JSON lines it gets."""
    body = json.dumps({'args': [text], 'stream': True}).encode()
    request = urllib.request.Request(url + '/call', body, {'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=10) as response:
        return [json.loads(line) for line in response.read().splitlines()]


def test_lazyplug_web_serves_any_targets_module_until_ctrl_c(app_dir, command):
    proc = command('web', 'app.py:app', '--title', 'Loud')
    url = first_line(proc, r'at (http://127\.0\.0\.1:\d+)')[1]
    with urllib.request.urlopen(url, timeout=10) as response:
        assert '<title>Loud</title>' in response.read().decode()
    assert call_page(url, ' a b ')[-1]['result'] == 'A B '
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    assert 'stopping what was deployed' in proc.stderr.read()


def test_lazyplug_web_ends_when_lazyplug_stop_stops_its_page(app_dir, command):
    proc = command('web', 'app.py:app')
    ident = first_line(proc, r'\(id (\w+)\)')[1]
    stopped = lazyplug_cmd(app_dir, 'stop', ident)
    assert stopped.returncode == 0, stopped.stderr
    assert proc.wait(30) == 0
    assert 'the page was stopped' in proc.stdout.read()
    assert 'no services are running' in lazyplug_cmd(app_dir, 'ps').stdout  # its ServerModule stopped too


def test_lazyplug_web_refuses_a_bad_target_as_a_usage_error(app_dir):
    result = lazyplug_cmd(app_dir, 'web', 'app.py:nothing')
    assert result.returncode == 2 and 'nothing' in result.stderr


def test_a_web_module_in_the_app_is_served_by_update_serve(app_dir, command):
    proc = command('update', 'app.py:web', '--serve')
    url = first_line(proc, r'deployed Shouting on a WebModule page at (http://\S+)')[1]
    assert 'serving 2 service(s)' in first_line(proc, r'serving .*')[0]
    lines = call_page(url, 'hi there')
    assert [line['delta'] for line in lines[:-1]] == ['HI ', 'THERE '] and lines[-1]['result'] == 'HI THERE '
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
