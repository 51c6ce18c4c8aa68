"""A hook plugin that raises when imported."""

raise RuntimeError('demo plugin is broken on purpose')
