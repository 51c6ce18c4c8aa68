"""Driving the page in a real browser (the plugin's tests and ``benchmarks/bench_web.py``).

A headless Chromium (Debian's ``chromium`` package, or ``LAZYPLUG_CHROMIUM``) driven by Playwright,
which is given the browser's path and downloads none. Each launch uses a profile directory of its
own and turns off what reaches out to the network on its own (updates, sync, metrics).
"""

from __future__ import annotations

import os
import shutil

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['CHROMIUM_ARGS', 'find_chromium', 'launch_chromium']

CHROMIUM_ARGS = ('--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-sync', '--no-first-run', '--disable-dev-shm-usage')
"""Chromium's switches for a headless run, as root, on a machine with no way out."""


def find_chromium() -> str | None:
    """The Chromium to drive: ``LAZYPLUG_CHROMIUM``, else ``chromium`` on the PATH or in /usr/bin."""
    named = os.environ.get('LAZYPLUG_CHROMIUM')
    if named:
        return named
    for name in ('chromium', 'chromium-browser'):
        found = shutil.which(name) or (f'/usr/bin/{name}' if os.access(f'/usr/bin/{name}', os.X_OK) else None)
        if found:
            return found
    return None


def launch_chromium(playwright: Any, executable: str, profile: str) -> Any:
    """A headless Chromium launched by ``playwright`` (``sync_playwright().start()``), with its
    profile in the new directory ``profile``: a persistent context, ready for pages."""
    return playwright.chromium.launch_persistent_context(profile, executable_path=executable, headless=True,
                                                         args=list(CHROMIUM_ARGS))
