"""Launchers: where a ServerModule's service runs. ``local`` (child processes) and ``thread``
(in this process) are built in; plugins add others through the ``lazyplug_launcher`` hook."""

from .base import Deployment

__all__ = ['Deployment']
