"""lazyplug-redis: a service registry and a result cache on Redis, for lazyplug.

Installing the distribution adds, through lazyplug's hooks (the ``redis`` plugin of the
``lazyplug`` entry-point group):

* the ``redis://``, ``rediss://`` and ``unix://`` service registries (:mod:`.registry`):
  ``LAZYPLUG_REGISTRY=redis://host:6379/0`` and the deployed services of every process and machine
  that names the same server are published, found, listed and removed there;
* the ``redis`` strategy of the module result cache (:mod:`.cache`):
  ``LAZYPLUG_CACHE_STRATEGY=redis`` with ``LAZYPLUG_REDIS_URL``;
* the settings of :mod:`.settings` (``redis_url``, ``redis_timeout``, ``redis_service_ttl``,
  ``redis_cache_ttl``, ``redis_prefix``).

Importing this package imports neither redis-py nor the plugin.
"""

__version__ = '0.1.0'
