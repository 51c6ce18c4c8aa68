"""A streaming module, tried in the terminal and in the browser.

    python3 -m pip install . plugins/lazyplug-web
    python3 examples/chat.py                        # streams an answer here, then serves the page
    lazyplug web examples/chat.py:app               # the page alone
    lazyplug update examples/chat.py:web --serve    # the page as part of the application

``Typist`` answers a word at a time, as a language model does: its ``forward`` is a generator, so
``app.stream(text)`` yields each word as it is produced, and the page shows it arriving. It runs
in a server of its own (a ServerModule with ``stream=True``): the words cross processes as they
are typed. ``app`` cleans the input first and counts the words after.
"""

import time

import lazyplug


class Typist(lazyplug.ModuleBase):
    """Types back what it was told, a word every 50 ms."""

    def forward(self, text):
        for word in f'You said: {text}'.split():
            time.sleep(0.05)
            yield word + ' '


def count_words(answer):
    return f'{answer}({len(answer.split())} words)'


app = lazyplug.pipeline(str.strip, lazyplug.ServerModule(Typist(), stream=True), count_words)


def web():
    """The page for ``app`` (needs lazyplug-web: ``pip install plugins/lazyplug-web``)."""
    return lazyplug.WebModule(app, title='Typist')


def main() -> None:
    """Stream one answer here, then serve the page until Ctrl-C."""
    page = web()
    try:
        page.start()
        for delta in app.stream('  hello, streaming world '):
            print(delta, end='', flush=True)
        print()
        print(f'try it in a browser: {page.url} (Ctrl-C ends it)')
        page.wait()
    except KeyboardInterrupt:
        pass
    finally:
        page.stop()


if __name__ == '__main__':
    main()
