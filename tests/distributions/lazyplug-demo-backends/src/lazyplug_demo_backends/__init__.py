"""lazyplug-demo-backends: the ``spawn`` launcher, the ``jsonfile://`` registry and the ``shelf`` cache store."""
