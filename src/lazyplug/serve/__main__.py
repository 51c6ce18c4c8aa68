"""``python -m lazyplug.serve``: run one server process (see lazyplug.serve.process)."""

from .process import main

main()
