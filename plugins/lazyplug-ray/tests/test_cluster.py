"""Two machines (cluster_helpers.py): an application on a deploys a service of two replicas on the
Ray cluster, one on each machine; from b, `lazyplug ps` lists them at addresses b reaches and
`lazyplug call` answers; `lazyplug stop` on b ends the application on a.

The network, and every process on it (Ray's, redis-server, the applications), ends with the module.
"""

import json

from cluster_helpers import KEY, host_of, wait_for


def test_b_lists_one_replica_on_each_machine_at_its_address(cluster, deployed):
    _, urls = deployed
    assert sorted(host_of(url) for url in urls) == sorted([cluster.a.address, cluster.b.address])


def test_b_calls_the_service_by_its_id(cluster, deployed):
    answer = json.loads(cluster.lazyplug(cluster.b, 'call', 'where', '"from b"', '--security-key', KEY).stdout)
    assert answer['x'] == 'from b' and answer['machine'] in ('a', 'b')


def test_each_published_address_is_answered_by_the_machine_it_names(cluster, deployed):
    _, urls = deployed
    named = {cluster.a.address: 'a', cluster.b.address: 'b'}
    for url in urls:
        result = cluster.lazyplug(cluster.b, 'call', url, '1', '--security-key', KEY)
        assert json.loads(result.stdout) == {'machine': named[host_of(url)], 'x': 1}


def test_without_the_key_b_is_refused(cluster, deployed):
    result = cluster.lazyplug(cluster.b, 'call', 'where', '1', check=False)
    assert result.returncode == 1 and 'authentication failed' in result.stderr


def test_lazyplug_stop_on_b_ends_the_application_on_a_and_frees_the_cluster(cluster, deployed):
    app, urls = deployed
    result = cluster.lazyplug(cluster.b, 'stop', 'where')
    assert 'runs on another machine' in result.stdout
    assert app.wait(60) == 0, app.output()  # the application on a saw its service removed, stopped it, ended
    assert cluster.services(cluster.a) == []
    for url in urls:  # neither replica answers any more
        result = cluster.lazyplug(cluster.b, 'call', url, '1', '--security-key', KEY, check=False)
        assert result.returncode == 1
    assert wait_for(lambda: cluster.cpus_in_use() == '0.0/2.0', 30, 'the replicas freeing their CPUs')


def test_nothing_runs_on_the_cluster_between_tests(cluster):
    assert cluster.services(cluster.b) == []
    assert wait_for(lambda: cluster.cpus_in_use() == '0.0/2.0', 30, 'nothing holding CPUs')
