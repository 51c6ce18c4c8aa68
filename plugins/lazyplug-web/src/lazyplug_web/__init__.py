"""lazyplug-web: a web page for any lazyplug module.

Installing the distribution adds:

* ``lazyplug.WebModule(m, title=..., port=...)`` (:mod:`.module`): a module whose deploy phase
  serves a page for ``m`` from this process; the page streams answers as ``m`` produces them;
* the ``lazyplug web TARGET`` command (:mod:`.command`, through the ``web`` plugin of the
  ``lazyplug`` entry-point group).

The page is one file (:file:`page.html`: HTML, CSS and JavaScript, nothing fetched from elsewhere)
served by lazyplug's own server beside the module's wire, which its script calls.
"""

from .module import WebModule

__version__ = '0.1.0'

__all__ = ['WebModule']
