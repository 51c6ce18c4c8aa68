"""Where Ray puts the replicas of a service: the launcher's placement options.

* ``scheduling_strategy``: Ray's strategy for each replica: ``'DEFAULT'``, ``'SPREAD'`` (over the
  nodes, as evenly as Ray can), or one of Ray's strategy objects
  (``ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy``, ...), given as is.
* ``placement_strategy``: the replicas placed together as one Ray placement group of one bundle
  per replica, with Ray's group strategy: ``'STRICT_SPREAD'`` (each replica on a node of its own;
  the deploy fails if the cluster has fewer nodes than replicas), ``'SPREAD'``, ``'PACK'``,
  ``'STRICT_PACK'`` (all on one node). The group ends with the service.
* ``resources``: custom resources each replica asks for (``{'gpu_box': 1}``; a node offers them
  with ``ray start --resources``).

This module does not import Ray until a service is launched.
"""

from __future__ import annotations

from lazyplug.errors import InvalidArgumentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['GROUP_STRATEGIES', 'STRATEGIES', 'Placement', 'check_combination', 'valid_resources',
           'valid_scheduling_strategy']

STRATEGIES = ('DEFAULT', 'SPREAD')
GROUP_STRATEGIES = ('STRICT_SPREAD', 'SPREAD', 'PACK', 'STRICT_PACK')
_BUILT_IN = ('CPU', 'GPU', 'memory', 'object_store_memory')  # asked for with num_cpus, num_gpus, memory


def valid_scheduling_strategy(value: Any) -> bool:
    """One of Ray's strategy names, or an object of ``ray.util.scheduling_strategies`` (checked by
    its class's module: Ray is not imported to check it)."""
    if isinstance(value, str):
        return value in STRATEGIES
    return type(value).__module__ == 'ray.util.scheduling_strategies'


def valid_resources(value: Any) -> bool:
    """A dict of custom resource names (not Ray's built-in ones) to amounts >= 0."""
    return isinstance(value, dict) and all(
        isinstance(name, str) and name and name not in _BUILT_IN
        and isinstance(amount, (int, float)) and not isinstance(amount, bool) and amount >= 0
        for name, amount in value.items())


def check_combination(options: dict[str, Any]) -> None:
    """Options valid one by one that cannot go together."""
    if 'placement_strategy' in options and 'scheduling_strategy' in options:
        raise InvalidArgumentError('the ray launcher options placement_strategy and scheduling_strategy exclude each '
                                   'other: replicas in a placement group are scheduled by the group')
    if 'placement_strategy' in options and not _bundle(options):
        raise InvalidArgumentError('placement_strategy needs each replica to ask for a resource (num_cpus, num_gpus, '
                                   'memory or resources > 0): Ray places bundles of resources, and an empty one is '
                                   'not a bundle')


def _bundle(options: dict[str, Any]) -> dict[str, float]:
    """What one replica asks for, as a placement-group bundle (an actor asks for 1 CPU unless told)."""
    bundle = {'CPU': options.get('num_cpus', 1), 'GPU': options.get('num_gpus', 0),
              'memory': options.get('memory', 0), **options.get('resources', {})}
    return {name: float(amount) for name, amount in bundle.items() if amount}


class Placement:
    """The placement of one launch: the Ray options of each replica, and the placement group it
    made (if any), which :meth:`remove` ends."""

    def __init__(self, options: dict[str, Any], replicas: int) -> None:
        self.strategy: str | None = options.get('placement_strategy')
        self.group: Any = None
        if self.strategy is not None:
            from ray.util import placement_group
            self.group = placement_group([_bundle(options)] * replicas, strategy=self.strategy)

    def options(self, index: int) -> dict[str, Any]:
        """The Ray options that place replica ``index``."""
        if self.group is None:
            return {}
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy
        return {'scheduling_strategy': PlacementGroupSchedulingStrategy(self.group, placement_group_bundle_index=index)}

    def describe(self) -> str:
        """How the replicas are placed, for error messages."""
        return f'in a placement group with strategy {self.strategy}' if self.strategy else ''

    def remove(self) -> None:
        """End the placement group (its resources return to the cluster)."""
        group, self.group = self.group, None
        if group is not None:
            import ray
            if ray.is_initialized():
                from ray.util import remove_placement_group
                remove_placement_group(group)
