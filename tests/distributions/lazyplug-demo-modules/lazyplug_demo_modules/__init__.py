"""A test distribution contributing the module group ``demo`` (see pyproject.toml)."""
