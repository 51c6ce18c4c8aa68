"""Where the replicas go: Ray's scheduling strategies, a placement group, custom resources, and the
host a replica publishes. On the session's one-node cluster; test_cluster.py places replicas on two
machines."""

import pytest
from lazyplug import ServerModule
from lazyplug.errors import InvalidArgumentError, TaskFailedError
from lazyplug.services import get_registry

from lazyplug_ray import RayLauncher
from ray_helpers import assert_nothing_left, replicas, state_address

pytestmark = pytest.mark.usefixtures('nothing_left')


def double(x):
    return 2 * x


def placement_groups(state):
    import ray
    return [g for g in ray.util.placement_group_table().values() if g['state'] == state]


def test_replicas_in_a_placement_group_run_in_its_bundles_and_the_group_ends_with_the_service(started):
    sm = started(ServerModule(double, launcher=RayLauncher(num_cpus=0.5, placement_strategy='PACK'), num_replicas=2))
    assert [sm(1), sm(2)] == [2, 4]
    [group] = placement_groups('CREATED')
    assert group['strategy'] == 'PACK' and list(group['bundles'].values()) == [{'CPU': 0.5}] * 2
    from ray.util.state import get_actor
    groups = {get_actor(a.actor_id, address=state_address()).placement_group_id for a in replicas()}
    assert groups == {group['placement_group_id']}
    sm.stop()
    assert not placement_groups('CREATED')


def test_strict_spread_on_too_few_nodes_fails_clearly_and_leaves_nothing():
    sm = ServerModule(double, launcher=RayLauncher(num_cpus=0.5, placement_strategy='STRICT_SPREAD', start_timeout=3),
                      num_replicas=2)
    with pytest.raises(TaskFailedError) as info:
        sm.start()
    message = str(info.value.__cause__)
    assert 'did not start within 3 s' in message and 'strategy STRICT_SPREAD' in message
    assert '1 node(s) alive' in message
    assert not placement_groups('CREATED') and not placement_groups('PENDING')
    assert_nothing_left()


def test_a_scheduling_strategy_object_is_given_to_ray(started):
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    here = ray.get_runtime_context().get_node_id()
    sm = started(ServerModule(double, launcher=RayLauncher(
        num_cpus=0.5, scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False))))
    assert sm(3) == 6
    assert [a.node_id for a in replicas()] == [here]


def test_a_node_that_does_not_exist_cannot_take_a_replica():
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    nowhere = NodeAffinitySchedulingStrategy('ab' * 28, soft=False)
    sm = ServerModule(double, launcher=RayLauncher(scheduling_strategy=nowhere, start_timeout=5))
    with pytest.raises(TaskFailedError):
        sm.start()
    assert_nothing_left()


def test_spread_places_the_replicas(started):
    sm = started(ServerModule(double, launcher=RayLauncher(num_cpus=0.5, scheduling_strategy='SPREAD'), num_replicas=2))
    assert sm(5) == 10 and len(replicas()) == 2


def test_custom_resources_are_asked_of_ray(started):
    sm = started(ServerModule(double, launcher=RayLauncher(num_cpus=0.5, resources={'test_box': 0.5})))
    from ray.util.state import get_actor
    [actor] = replicas()
    assert get_actor(actor.actor_id, address=state_address()).required_resources == {'CPU': 0.5, 'test_box': 0.5}
    assert sm(4) == 8


def test_a_resource_no_node_has_fails_clearly():
    sm = ServerModule(double, launcher=RayLauncher(resources={'no_such_box': 1}, start_timeout=3))
    with pytest.raises(TaskFailedError) as info:
        sm.start()
    assert "'resources': {'no_such_box': 1}" in str(info.value.__cause__)
    assert_nothing_left()


def test_a_replica_on_every_interface_publishes_its_nodes_address(started):
    import ray
    sm = started(ServerModule(double, launcher='ray', host='0.0.0.0', security_key=True))
    [url] = get_registry().lookup(sm._impl._module_id).urls
    assert url.startswith(f'http://{ray.util.get_node_ip_address()}:')


def test_a_replica_publishes_its_nodes_advertise_host(started):
    # a node's LAZYPLUG_ADVERTISE_HOST is in the environment of its `ray start`, and so of its workers
    env = {'env_vars': {'LAZYPLUG_ADVERTISE_HOST': 'localhost'}}
    sm = started(ServerModule(double, launcher=RayLauncher(runtime_env=env), host='0.0.0.0', security_key='sk-x'))
    [url] = get_registry().lookup(sm._impl._module_id).urls
    assert url.startswith('http://localhost:')
    assert sm(6) == 12


@pytest.mark.parametrize(('options', 'named'), [
    ({'scheduling_strategy': 'spread'}, "scheduling_strategy='spread'"),
    ({'scheduling_strategy': 3}, 'scheduling_strategy=3'),
    ({'placement_strategy': 'SPREAD_OUT'}, "placement_strategy='SPREAD_OUT'.*'STRICT_SPREAD'"),
    ({'resources': {'CPU': 1}}, "resources={'CPU': 1}.*num_cpus"),
    ({'resources': {'box': -1}}, "resources={'box': -1}"),
    ({'resources': ['box']}, r"resources=\['box'\]"),
    ({'placement_strategy': 'PACK', 'scheduling_strategy': 'SPREAD'}, 'exclude each other'),
    ({'placement_strategy': 'PACK', 'num_cpus': 0}, 'needs each replica to ask for a resource'),
])
def test_bad_placement_options_are_named(options, named):
    with pytest.raises(InvalidArgumentError, match=named):
        RayLauncher(**options)
