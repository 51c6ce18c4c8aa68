"""lazyplug-template: a module group (``modules``) and a hook plugin (``timing``) to copy."""
