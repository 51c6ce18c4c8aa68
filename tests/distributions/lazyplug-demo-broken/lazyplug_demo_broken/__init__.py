"""A test distribution that fails to load, on purpose."""
