"""Faults on two machines (cluster_helpers.py), while a caller calls in a loop: machine b dies, b
drops off the network, Redis (the service registry) restarts empty.

Each call carries a token that the machine running it writes down (cluster_app.py), so the tests
count how often every call ran: a call that failed may have run once, none may run twice.
"""

import time

from cluster_helpers import KEY, answered, calls_of, end, host_of, times_run, wait_for, wait_for_calls

CONNECT_TIMEOUT = 3.0  # the connect_timeout setting's default, which the callers keep


def replicas_on(cluster, machine):
    """How many replicas of 'where' the registry lists on ``machine`` (seen from a)."""
    return sum(host_of(url) == machine.address for url in cluster.urls(cluster.a) or ())


def test_when_b_dies_a_caller_on_a_loses_at_most_one_percent_of_its_calls_and_none_runs_twice(
        cluster, breaks_b, deployed):
    caller = cluster.caller(cluster.a, 25)
    wait_for_calls(caller, 100)
    died = time.monotonic()  # the machines share this host's monotonic clock
    cluster.b.crash()
    # b's address is withdrawn (Ray reports its replica gone), then its replica runs again on a
    withdrawn = wait_for(lambda: replicas_on(cluster, cluster.b) == 0 and time.monotonic(), 10,
                         "withdrawing b's address")
    wait_for(lambda: replicas_on(cluster, cluster.a) == 2, 60, 'both replicas serving on a')
    calls = calls_of(caller)
    during = [call for call in calls if call[2] >= died]
    failed = [call for call in during if not answered(call)]
    assert len(during) > 100 and len(failed) <= len(during) / 100, failed
    assert all(call[2] < died + 10 for call in failed)  # every call succeeds again within 10 s
    assert {call[1] for call in calls[-100:]} == {'a'}
    counts = times_run(calls, cluster.a, cluster.b)
    assert max(counts.values()) == 1  # no call ran twice
    assert all(counts.get(call[0]) == 1 for call in calls if answered(call))
    print(f'b died: {len(failed)} of {len(during)} calls failed; its address withdrawn after '
          f'{withdrawn - died:.1f} s')


def test_when_b_drops_off_the_network_callers_pass_it_over_after_one_connect_timeout(cluster, breaks_b, deployed):
    caller = cluster.caller(cluster.a, 30)
    wait_for_calls(caller, 100)
    silent = time.monotonic()
    cluster.b.link_down()
    # Ray marks b dead once its health checks fail (about 3 s here), and restarts its replica on a
    wait_for(lambda: replicas_on(cluster, cluster.b) == 0, 30, "withdrawing b's address")
    wait_for(lambda: replicas_on(cluster, cluster.a) == 2, 60, 'both replicas serving on a')
    calls = calls_of(caller)
    failed = [call for call in calls if not answered(call)]
    # the call written to b as it went silent (one at a time here) may have run: it fails, saying so
    assert len(failed) <= 1 and all('went silent' in call[1] for call in failed), failed
    assert max(call[3] for call in calls) < 2 * CONNECT_TIMEOUT + 1  # not the call timeout (600 s)
    later = [call for call in calls if call[2] > silent + 2 * CONNECT_TIMEOUT + 1]
    assert later and {call[1] for call in later} == {'a'}
    counts = times_run(calls, cluster.a, cluster.b)
    assert max(counts.values()) == 1
    assert all(counts.get(call[0]) == 1 for call in calls if answered(call))


def test_redis_restarted_empty_gets_every_service_back_within_a_renewal_and_callers_go_on(cluster, deployed):
    on_b = cluster.serve(cluster.b, 'cluster_app.py:on_b')
    try:
        wait_for(lambda: cluster.urls(cluster.a, 'on-b'), 60, 'on-b listed')
        listed = {entry['module_id']: entry['urls'] for entry in cluster.services(cluster.a)}
        callers = [cluster.caller(cluster.b, 12, 'app'), cluster.caller(cluster.a, 12, 'on_b')]
        for caller in callers:
            wait_for_calls(caller, 20)
        cluster.redis.kill()
        time.sleep(1)  # a second without a registry
        cluster.redis = cluster.start_redis()  # empty: nothing was saved
        back = time.monotonic()
        again = wait_for(lambda: ({e['module_id']: e['urls'] for e in cluster.services(cluster.a)} == listed
                                  and time.monotonic()), 30, 'both services listed again')
        renewal = 10 / 3  # the entries' ttl is 10 s (redis_service_ttl), renewed every third of it
        assert again - back < renewal + 1.5  # + the time `lazyplug ps` takes to start and answer
        for caller in callers:  # those that knew where the services are went on calling
            calls = calls_of(caller)
            assert calls and all(answered(call) for call in calls), [c for c in calls if not answered(c)]
        result = cluster.lazyplug(cluster.a, 'call', 'on-b', '"after"', '--security-key', KEY)
        assert '"machine": "b"' in result.stdout
    finally:
        end(on_b)
