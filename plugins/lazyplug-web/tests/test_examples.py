"""The examples tried in the browser, as the README says: `lazyplug web examples/...` and a real Chromium."""

from __future__ import annotations

import json
import pathlib

import pytest

from web_helpers import first_line

ROOT = pathlib.Path(__file__).resolve().parents[3]
LAST_ANSWER = "document.querySelector('.turn:last-child .answer')?.textContent"
LAST_STATE = "document.querySelector('.turn:last-child')?.dataset.state"


def serve(command, target):
    proc = command('web', str(ROOT / target))
    return first_line(proc, r'at (http://127\.0\.0\.1:\d+)', timeout=120)[1]


def test_the_chat_example_streams_its_answer_into_the_page(command, page, tmp_path):
    page.goto(serve(command, 'examples/chat.py:app'))
    page.fill('#input', '  one two three four five  ')
    page.press('#input', 'Enter')
    page.wait_for_function(f"{LAST_ANSWER}.startsWith('You ') && {LAST_STATE} === 'streaming'")
    page.screenshot(path=str(tmp_path / 'chat-streaming.png'))
    page.wait_for_function(f"{LAST_STATE} === 'done'")
    assert page.evaluate(LAST_ANSWER) == 'You said: one two three four five (7 words)'


def test_the_digits_example_reads_a_digit_typed_as_json_in_the_page(command, page, tmp_path):
    pytest.importorskip('lazyplug_sklearn', reason='the digits example needs lazyplug-sklearn (tox -e web installs it)')
    from sklearn.datasets import load_digits
    digits = load_digits()
    page.goto(serve(command, 'examples/digits.py:app'))  # trained, then deployed
    page.check('input[value="json"]')
    for index in (0, 1, 2):
        page.fill('#input', json.dumps(digits.images[index].astype(int).tolist()))
        page.press('#input', 'Enter')
        page.wait_for_function(f"document.querySelectorAll('.turn').length === {index + 1} && {LAST_STATE} === 'done'")
        assert page.evaluate(LAST_ANSWER) == str(digits.target[index])
    page.screenshot(path=str(tmp_path / 'digits.png'))
