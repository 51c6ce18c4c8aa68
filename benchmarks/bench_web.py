"""lazyplug-web's page in a real headless Chromium, beside the same page served as a static file.

Run:  python benchmarks/bench_web.py [--quick]

Needs lazyplug-web with its test extra (``pip install './plugins/lazyplug-web[test]'``) and a
Chromium (Debian's ``chromium``, or ``LAZYPLUG_CHROMIUM``).

Goal:

* the page is interactive within 1 s of ``start()`` returning: from the moment ``WebModule.start()``
  returns to the moment the page's script has run in a browser already open (its input takes
  text, its Send button works). Baseline: the same page, as a file served by the standard
  library's ``http.server``, loaded in the same browser.

Also reported: ``start()`` itself, the page's weight, and from Enter to the first delta on the page
and to the whole answer (a module that yields 20 words).
"""

from __future__ import annotations

import os

# The core's own figures: installed plugins would add the cost of their hooks to every task and call.
os.environ.setdefault('LAZYPLUG_PLUGINS', 'web')

import argparse
import functools
import http.server
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

from bench_core import Row, print_goals, print_table

import lazyplug


def words(text: str) -> Iterator[str]:
    for word in text.split():
        yield word + ' '


READY = 'html[data-ready="true"]'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='fewer runs: faster, noisier')
    runs = 3 if parser.parse_args(argv).quick else 10
    try:
        from lazyplug_web import WebModule
        from lazyplug_web.testing import find_chromium, launch_chromium
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        print(f'bench_web needs lazyplug-web and Playwright: pip install "./plugins/lazyplug-web[test]" ({exc})')
        return 1
    executable = find_chromium()
    if executable is None:
        print('bench_web needs a Chromium: apt-get install chromium, or set LAZYPLUG_CHROMIUM')
        return 1
    began = time.perf_counter()
    print(f'lazyplug {lazyplug.__version__} web page on Python {sys.version.split()[0]}, Chromium at {executable}')

    starts, interactive, static, first_delta, whole = [], [], [], [], []
    weight = 0
    question = ' '.join(f'word{i}' for i in range(20))
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        # once, a browser launched only after start() returned: what a user who opens one then waits
        web = WebModule(words, title='bench').start()
        returned = time.perf_counter()
        browser = launch_chromium(playwright, executable, os.path.join(folder, 'cold-profile'))
        page = browser.new_page()
        page.goto(web.url)
        page.wait_for_selector(READY)
        cold = time.perf_counter() - returned
        browser.close()
        web.stop()
        browser = launch_chromium(playwright, executable, os.path.join(folder, 'profile'))
        try:
            for _ in range(runs):
                web = WebModule(words, title='bench')
                clock = time.perf_counter()
                web.start()
                returned = time.perf_counter()
                starts.append(returned - clock)
                page = browser.new_page()
                try:
                    page.goto(web.url)
                    page.wait_for_selector(READY)
                    interactive.append(time.perf_counter() - returned)
                    weight = len(page.content().encode())
                    page.fill('#input', question)
                    sent = time.perf_counter()
                    page.press('#input', 'Enter')
                    page.wait_for_function("document.querySelector('.turn:last-child .answer')?.textContent.length > 0")
                    first_delta.append(time.perf_counter() - sent)
                    page.wait_for_function("document.querySelector('.turn:last-child')?.dataset.state === 'done'")
                    whole.append(time.perf_counter() - sent)
                    with open(os.path.join(folder, 'page.html'), 'w', encoding='utf-8') as copy:
                        copy.write(page.content())
                finally:
                    page.close()
                    web.stop()
            handler = functools.partial(_QuietHandler, directory=folder)
            with http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler) as files:
                threading.Thread(target=files.serve_forever, daemon=True).start()
                url = f'http://127.0.0.1:{files.server_address[1]}/page.html'
                for _ in range(runs):
                    clock = time.perf_counter()  # the tab is opened in the time, as for the WebModule's page
                    page = browser.new_page()
                    try:
                        page.goto(url)
                        page.wait_for_selector(READY)
                        static.append(time.perf_counter() - clock)
                    finally:
                        page.close()
                files.shutdown()
        finally:
            browser.close()

    best, median = min(interactive), statistics.median(interactive)
    rows = [
        Row('start() returned -> page interactive (median)', f'{median * 1e3:.0f} ms',
            f'static file: {statistics.median(static) * 1e3:.0f} ms', median / statistics.median(static), '< 1 s',
            median < 1.0),
        Row('  worst of the runs', f'{max(interactive) * 1e3:.0f} ms', f'best: {best * 1e3:.0f} ms',
            max(interactive) / best),
        Row('  Chromium launched after start() returned', f'{cold * 1e3:.0f} ms',
            f'open beforehand: {median * 1e3:.0f} ms', cold / median),
        Row('start() (deploy the page)', f'{statistics.median(starts) * 1e3:.0f} ms', '', None),
        Row('page weight (one request)', f'{weight / 1024:.1f} KiB', '', None),
        Row('Enter -> first delta on the page', f'{statistics.median(first_delta) * 1e3:.0f} ms',
            f'whole answer: {statistics.median(whole) * 1e3:.0f} ms', None),
    ]
    print_table(f'The page in headless Chromium (median of {runs} runs; the browser open beforehand)', rows)
    print_goals(rows, began)
    return 0


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


if __name__ == '__main__':
    sys.exit(main())
