"""``python -m lazyplug``: the ``lazyplug`` command line."""

from .cli import main

main()
