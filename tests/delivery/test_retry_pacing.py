"""The retry policy and the pacer, with the clock and the sleep injected."""

import random

import pytest

from connector.delivery.pacing import Pacer, PacingPolicy
from connector.delivery.retry import RetryPolicy


def test_backoff_grows_is_capped_and_jittered():
    policy = RetryPolicy(maximum_retries=8, initial_s=1.0, maximum_s=8.0)
    rng = random.Random(1)
    delays = [policy.delay(n, None, rng) for n in range(1, 7)]
    for n, d in enumerate(delays, start=1):
        base = min(2 ** (n - 1), 8.0)
        assert base / 2 <= d <= base
    assert len({round(d, 6) for d in delays}) == len(delays)


def test_retry_after_is_honoured_with_a_little_jitter():
    policy = RetryPolicy(initial_s=1.0, maximum_s=8.0)
    delays = [policy.delay(3, 0.2, random.Random(seed)) for seed in range(20)]
    assert all(0.2 <= d <= 0.22 for d in delays) and len(set(delays)) > 1
    assert 5.0 <= policy.delay(1, 5.0, random.Random(0)) <= 5.5
    assert not policy.allows(1, 0.0, 700.0)     # beyond the total budget: give up at once


def test_budgets_in_attempts_and_time():
    policy = RetryPolicy(maximum_retries=3, total_s=10)
    assert policy.allows(3, 1.0, 1.0)
    assert not policy.allows(4, 1.0, 1.0)
    assert not policy.allows(1, 9.5, 1.0)


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_holds_the_rate_in_every_window():
    clock = FakeClock()
    pacer = Pacer(PacingPolicy(per_second=200), clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(2000):
        assert pacer.acquire()
        stamps.append(clock.now)
    span = stamps[-1] - stamps[0]
    assert 2000 / span == pytest.approx(200, rel=0.02)
    j = 0
    for i, start in enumerate(stamps):       # no 1-second window holds more than 1.1 x the rate
        while stamps[j] < start - 1.0:
            j += 1
        assert i - j + 1 <= 210


def test_senders_waiting_at_once_each_sleep_once_until_their_own_token():
    """Seven senders ask at the same instant (the clock does not move while they sleep): the
    bucket's five tokens go at once, and the next two wait 10 and 20 ms, once each. When each
    slept until the next token and retook it, every token woke them all."""
    clock = FakeClock()
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        assert len(slept) <= 3, "a sender slept twice"

    pacer = Pacer(PacingPolicy(per_second=100), clock=clock, sleep=sleep)
    assert all(pacer.acquire() for _ in range(7))
    assert slept == pytest.approx([0.01, 0.02])
    assert not pacer.acquire(give_up_at=clock.now + 0.02)      # its token would come at 30 ms: given back
    assert pacer.acquire() and slept[-1] == pytest.approx(0.03)


def test_pacer_hourly_budget():
    clock = FakeClock()
    pacer = Pacer(PacingPolicy(per_second=1000, per_hour=3600), clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(7200):
        pacer.acquire()
        stamps.append(clock.now)
    j = 0
    for i, start in enumerate(stamps):
        while stamps[j] <= start - 3600:
            j += 1
        assert i - j + 1 <= 3600


def test_pause_holds_everyone_and_give_up():
    clock = FakeClock()
    pacer = Pacer(PacingPolicy(per_second=1000), clock=clock, sleep=clock.sleep)
    pacer.pause(2.0)
    assert not pacer.acquire(give_up_at=clock.now + 1.0)
    assert pacer.acquire()
    assert clock.now >= 102.0


def test_a_quick_retry_waits_about_a_round_trip_and_never_longer_than_the_back_off():
    policy = RetryPolicy(maximum_retries=6, initial_s=1.0, maximum_s=32.0)
    rng = random.Random(1)
    assert all(0.1 <= policy.delay(n, None, rng, quick_s=0.2) <= 0.2 for n in (1, 2, 5))
    short = RetryPolicy(initial_s=0.05)
    assert all(0.025 <= short.delay(1, None, rng, quick_s=0.2) <= 0.05 for _ in range(20))
    assert 30.0 <= policy.delay(1, 30.0, rng, quick_s=0.2) <= 33.0    # Braze's Retry-After wins


def test_retry_state_is_a_value_that_counts_and_runs_out():
    from connector.delivery.retry import RetriesExhausted, RetryState

    state = RetryState(RetryPolicy(maximum_retries=2, initial_s=1.0, maximum_s=8.0, total_s=100.0), started=10.0)
    first, wait = state.increment(11.0, None, random.Random(0))
    assert (state.retries, first.retries) == (0, 1) and 0.5 <= wait <= 1.0     # the old state is unchanged
    second, wait = first.increment(12.0, None, random.Random(0))
    assert second.retries == 2 and 1.0 <= wait <= 2.0
    with pytest.raises(RetriesExhausted) as caught:
        second.increment(13.0, None, random.Random(0))
    assert caught.value.retries == 3 and second.give_up_at == 110.0


def test_a_retry_after_is_capped_at_the_longest_back_off():
    policy = RetryPolicy(maximum_s=8.0, total_s=3600.0)
    assert 8.0 <= policy.delay(1, 10**9, random.Random(0)) <= 8.8    # a server asking for ever gets 8 s


def test_every_kind_of_answer_has_one_action():
    from connector.braze.outcome import Kind
    from connector.delivery.actions import ACTIONS, RESENDS, Action

    assert set(ACTIONS) == set(Kind)
    assert {ACTIONS[Kind.RETRY], ACTIONS[Kind.RATE_LIMITED]} == RESENDS
    assert ACTIONS[Kind.UNKNOWN_FATE] is Action.RETRY_IF_REPLAYABLE and ACTIONS[Kind.AUTH] is Action.ABORT_AUTH
