"""``lazyplug.WebModule`` without the lazyplug-web plugin (the core's env installs no plugin)."""

import sys

import pytest

import lazyplug
from lazyplug.errors import PluginNotInstalledError


def test_web_module_without_its_plugin_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'lazyplug_web', None)  # as if not installed
    monkeypatch.delitem(lazyplug.__dict__, 'WebModule', raising=False)
    monkeypatch.delitem(sys.modules, 'lazyplug.module.web', raising=False)
    with pytest.raises(PluginNotInstalledError, match=r'pip install lazyplug-web') as info:
        lazyplug.WebModule
    assert isinstance(info.value, ImportError)
