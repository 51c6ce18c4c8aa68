"""The page in a real headless Chromium: type an input, watch the answer stream in, see errors, keep the
conversation."""

from __future__ import annotations

import itertools
import json
import threading

import lazyplug
from lazyplug import ModuleBase

from lazyplug_web import WebModule

# undefined, not an error, before the first turn is shown: wait_for_function stops at an error
LAST_ANSWER = "document.querySelector('.turn:last-child .answer')?.textContent"
LAST_STATE = "document.querySelector('.turn:last-child')?.dataset.state"


class Gated(ModuleBase):
    """Yields its words one by one; after the first, waits until the test lets it go on."""

    def __init__(self):
        super().__init__()
        self.go_on = threading.Event()

    def forward(self, text):
        words = text.split()
        yield words[0] + ' '
        if not self.go_on.wait(10):
            raise TimeoutError('the test never saw the first delta')
        for word in words[1:]:
            yield word + ' '


def watch_answers(page):
    """Record every text the answers show, in order (a MutationObserver in the page)."""
    page.evaluate("""() => {
        window.seen = [];
        new MutationObserver(() => {
            const answer = document.querySelector('.turn:last-child .answer');
            const last = window.seen[window.seen.length - 1];
            if (answer && last !== answer.textContent) window.seen.push(answer.textContent);
        }).observe(document.getElementById('log'), {childList: true, subtree: true, characterData: true});
    }""")


def ask(page, text):
    page.fill('#input', text)
    page.press('#input', 'Enter')


def test_the_answer_appears_delta_by_delta(page, started, tmp_path):
    gated = Gated()
    web = started(WebModule(gated, title='Streaming words'))
    page.goto(web.url)
    page.wait_for_selector('html[data-ready="true"]')
    watch_answers(page)
    ask(page, 'one two three')
    page.wait_for_function(f"{LAST_ANSWER} === 'one '")  # shown while the module still runs
    assert page.evaluate(LAST_STATE) == 'streaming'
    page.screenshot(path=str(tmp_path / 'first-delta.png'))
    gated.go_on.set()
    page.wait_for_function(f"{LAST_STATE} === 'done'")
    assert page.evaluate(LAST_ANSWER) == 'one two three '
    seen = page.evaluate('window.seen')  # every text the answer showed: it grew delta by delta
    assert seen[:2] == ['', 'one '] and seen[-1] == 'one two three '
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(seen))
    page.screenshot(path=str(tmp_path / 'answered.png'))
    assert (tmp_path / 'first-delta.png').stat().st_size > 0 and (tmp_path / 'answered.png').stat().st_size > 0


def test_an_error_is_shown_with_its_type_and_message_after_the_partial_answer(page, started, tmp_path):
    def failing(text):
        yield 'partial answer'
        raise KeyError(f'no entry for {text}')

    web = started(WebModule(failing))
    page.goto(web.url)
    ask(page, 'x')
    page.wait_for_function(f"{LAST_STATE} === 'failed'")
    assert page.inner_text('.turn:last-child .answer') == 'partial answer'
    assert page.inner_text('.turn:last-child .error') == "KeyError: 'no entry for x'"
    page.screenshot(path=str(tmp_path / 'error.png'))
    ask(page, 'y')  # the server keeps serving
    page.wait_for_function(f"document.querySelectorAll('.turn').length === 2 && {LAST_STATE} === 'failed'")


def test_a_module_that_does_not_stream_shows_its_whole_answer(page, started):
    web = started(WebModule(lazyplug.pipeline(str.strip, str.upper)))
    page.goto(web.url)
    ask(page, ' quiet ')
    page.wait_for_function(f"{LAST_STATE} === 'done'")
    assert page.evaluate(LAST_ANSWER) == 'QUIET'


def test_json_inputs_reach_the_module_as_values_or_keyword_arguments(page, started):
    def describe(*args, **kw):
        return json.dumps({'args': args, 'kwargs': kw}, sort_keys=True)

    web = started(WebModule(describe))
    page.goto(web.url)
    page.check('input[value="json"]')
    ask(page, '[1, 2.5, {"a": null}]')
    page.wait_for_function(f"{LAST_STATE} === 'done'")
    assert json.loads(page.evaluate(LAST_ANSWER)) == {'args': [[1, 2.5, {'a': None}]], 'kwargs': {}}
    page.check('#as-kwargs')
    ask(page, '{"x": 1, "y": "two"}')
    page.wait_for_function(f"document.querySelectorAll('.turn').length === 2 && {LAST_STATE} === 'done'")
    assert json.loads(page.evaluate(LAST_ANSWER)) == {'args': [], 'kwargs': {'x': 1, 'y': 'two'}}


def test_input_that_is_not_json_is_refused_under_the_box_and_not_sent(page, started):
    web = started(WebModule(str.upper))
    page.goto(web.url)
    page.check('input[value="json"]')
    ask(page, '{not json')
    page.wait_for_function("document.getElementById('note').textContent.startsWith('not JSON')")
    assert page.evaluate("document.querySelectorAll('.turn').length") == 0


def test_the_conversation_of_the_session_survives_a_reload_and_a_new_tab_starts_afresh(page, started, browser):
    web = started(WebModule(str.upper))
    page.goto(web.url)
    for text in ('first', 'second'):
        ask(page, text)
        page.wait_for_function(f"{LAST_STATE} === 'done' && {LAST_ANSWER} === '{text.upper()}'")
    page.reload()
    page.wait_for_selector('html[data-ready="true"]')
    assert page.eval_on_selector_all('.turn .answer', 'nodes => nodes.map(n => n.textContent)') == ['FIRST', 'SECOND']
    other = browser.new_page()
    try:
        other.goto(web.url)
        other.wait_for_selector('html[data-ready="true"]')
        assert other.evaluate("document.querySelectorAll('.turn').length") == 0
    finally:
        other.close()
    page.click('#clear')
    assert page.evaluate("document.querySelectorAll('.turn').length") == 0


def test_the_page_shows_its_title_and_the_module_tree(page, started):
    app = lazyplug.ActionModule(lazyplug.pipeline(str.strip, str.upper))
    web = started(WebModule(app, title='Shouting <tool>'))
    page.goto(web.url)
    assert page.title() == 'Shouting <tool>' and page.inner_text('#title') == 'Shouting <tool>'
    tree = page.inner_text('#tree')
    assert tree.startswith('<Module type=Action') and '<Flow type=Pipeline' in tree


def test_stop_ends_the_answer_and_the_module_generator(page, started):
    stopped = threading.Event()

    def endless(text):
        try:
            while True:
                yield text
                stopped.wait(0.01)
        finally:
            stopped.set()

    web = started(WebModule(endless))
    page.goto(web.url)
    ask(page, '.')
    page.wait_for_function(f"{LAST_ANSWER}.length > 3")
    page.click('#stop')
    page.wait_for_function(f"{LAST_STATE} === 'failed'")
    assert page.inner_text('.turn:last-child .error').startswith('Stopped')
    assert stopped.wait(10)


def test_a_page_with_a_key_asks_for_it_before_calling_and_showing_the_tree(page, started):
    web = started(WebModule(str.upper, security_key='sk-for-the-test'))
    page.goto(web.url)
    page.wait_for_selector('#keyform.shown')
    assert page.inner_text('#tree') == ''  # the tree is for callers with the key
    page.fill('#key', 'sk-wrong')
    page.press('#key', 'Enter')
    ask(page, 'hi')
    page.wait_for_function(f"{LAST_STATE} === 'failed'")
    assert 'AuthenticationError' in page.inner_text('.turn:last-child .error')
    page.fill('#key', 'sk-for-the-test')
    page.press('#key', 'Enter')
    page.wait_for_function("document.getElementById('tree').textContent.length > 0")
    ask(page, 'hi')
    page.wait_for_function(f"{LAST_STATE} === 'done'")
    assert page.evaluate(LAST_ANSWER) == 'HI'


def test_the_page_loads_nothing_from_anywhere_else(page, started):
    requested = []
    page.on('request', lambda request: requested.append(request.url))
    web = started(WebModule(str.upper))
    page.goto(web.url)
    ask(page, 'x')
    page.wait_for_function(f"{LAST_STATE} === 'done'")
    assert requested and all(url.startswith(web.url + '/') for url in requested), requested
