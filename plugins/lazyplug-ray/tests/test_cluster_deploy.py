"""Deploying in parallel through the registry, on two machines (cluster_helpers.py): the eight
services of tree_app.py, deployed from machine a with `--workers 8`, come up at once, children
before parents, each published as soon as it is ready; every parent reaches its children,
whichever machine it runs on.
"""

import json

import pytest

from cluster_helpers import KEY, end, wait_for

NAMES = ['root', 'left', 'left-0', 'left-1', 'mid', 'mid-0', 'right', 'right-0']
CHILDREN = {'root': ['left', 'mid', 'right'], 'left': ['left-0', 'left-1'], 'mid': ['mid-0'], 'right': ['right-0']}


@pytest.fixture(scope='module')
def tree(cluster):
    """tree_app.py:root served from a with 8 workers; its entries in the registry by name, and
    root's answer to a call from b."""
    app = cluster.serve(cluster.a, 'tree_app.py:root', '--workers', '8')
    try:
        def listed():
            entries = {e['module_id'].removeprefix('tree-'): e for e in cluster.services(cluster.b)}
            return entries if len(entries) == len(NAMES) or not app.running() else None

        entries = wait_for(listed, 300, 'the 8 services listed on b')
        assert app.running(), app.output()
        answer = json.loads(cluster.lazyplug(cluster.b, 'call', 'tree-root', '"from b"', '--security-key', KEY).stdout)
        yield entries, answer
    finally:
        end(app)
    wait_for(lambda: cluster.cpus_in_use() == '0.0/2.0', 60, 'the replicas ending')


def flatten(answer):
    """Each node's answer, by name (its children's answers left out)."""
    found = {answer['name']: answer}
    for child in answer['children']:
        found.update(flatten(child))
    return found


def test_every_parent_reaches_its_children_from_either_machine(tree, cluster):
    _, answer = tree
    nodes = flatten(answer)
    assert sorted(nodes) == sorted(NAMES)
    for name, children in CHILDREN.items():
        assert [child['name'] for child in nodes[name]['children']] == children
    parents_on = {nodes[name]['machine'] for name in CHILDREN}
    assert {node['machine'] for node in nodes.values()} == {'a', 'b'}, parents_on  # spread over both
    # the server processes on b (whose Ray node was started with no lazyplug settings) look
    # services up in the registry the deploying process on a publishes in
    assert {node['registry'] for node in nodes.values()} == {f'{cluster.a.address}:6380/0'}


def test_children_are_published_before_their_parents_start_loading(tree):
    entries, answer = tree
    nodes = flatten(answer)
    for name, children in CHILDREN.items():
        began_loading = nodes[name]['loaded'][0]
        assert all(entries[child]['started'] <= began_loading for child in children), name
        assert entries[name]['started'] > began_loading


def test_services_independent_of_each_other_come_up_at_once(tree):
    _, answer = tree
    nodes = flatten(answer)
    leaves = [nodes[name]['loaded'] for name in NAMES if name not in CHILDREN]
    assert max(began for began, _ in leaves) < min(ended for _, ended in leaves)  # all four loading together
