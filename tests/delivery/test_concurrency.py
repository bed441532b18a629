"""The concurrency controller's rules, driven by an injected clock: it grows to rate x latency while
requests wait below the budget, is cut on 429 / 5xx, shrinks when Braze queues, and an integer pins it."""

from __future__ import annotations

from connector.delivery.concurrency import COOL_OFF_S, FUTILE_HOLD_S, ConcurrencyPolicy, Controller


class Clock:
    """Seconds, and this process's CPU seconds: `busy` cores' worth of CPU per second."""

    def __init__(self, busy: float = 0.2) -> None:
        self.now = 0.0
        self.busy = busy

    def __call__(self) -> float:
        return self.now

    def cpu(self) -> float:
        return self.now * self.busy


def run(controller: Controller, clock: Clock, seconds: float, latency: float, *, congested: bool = False,
        starved: bool = True, rate: float | None = None, fault_every: int = 0, rate_limited: bool = False) -> None:
    """Answers at `rate` per second (the limit / latency, Little's law, when not given); all of
    them congested, or every `fault_every`-th one."""
    end = clock.now + seconds
    n = 0
    while clock.now < end:
        per_second = rate if rate is not None else controller.limit / latency
        clock.now += 1 / per_second
        if starved:
            controller.waited()
        n += 1
        fault = congested or bool(fault_every and n % fault_every == 0)
        controller.answered(latency, fault, rate_limited and fault)


def test_auto_grows_to_what_the_budget_and_the_latency_need():
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    assert controller.limit == 8
    run(controller, clock, 5.0, latency=0.1)
    assert 100 <= controller.limit <= 160        # 1,000/s x 0.1 s = 100 in flight, with headroom
    grown = controller.limit
    run(controller, clock, 5.0, latency=0.1, rate=1000.0)   # the pace is at the budget: no more growth
    assert controller.limit <= grown


def test_it_never_grows_past_its_bound_or_without_waiting_requests():
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(maximum=64), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 10.0, latency=0.3)
    assert controller.limit == 64
    idle = Controller(ConcurrencyPolicy(), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    run(idle, clock, 5.0, latency=0.1, starved=False)       # the reader is the bottleneck
    assert idle.limit == 8


def test_a_429_or_5xx_cuts_it_and_it_waits_before_growing_again():
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 5.0, latency=0.1)
    before = controller.limit
    run(controller, clock, 0.6, latency=0.1, congested=True)
    run(controller, clock, 0.5, latency=0.1)                 # the interval the last 429s fell in
    cut = controller.limit
    assert cut <= before * 0.7 + 1
    run(controller, clock, COOL_OFF_S - 1.2, latency=0.1)
    assert controller.limit == cut                           # cooling off
    run(controller, clock, 5.0, latency=0.1)
    assert controller.limit > cut                            # and it grows back


def test_scattered_5xx_are_not_congestion_but_a_429_is():
    """2% of answers 503 or dropped: those batches are retried on their own, the limit holds.
    One 429 with Braze's headers speaks for the whole bucket: cut."""
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 0.1, latency=0.1, fault_every=8)   # one 503 in the first 8 answers
    assert controller.limit > 8                               # not a cut: it grows as it would
    run(controller, clock, 5.0, latency=0.1)
    before = controller.limit
    run(controller, clock, 5.0, latency=0.1, fault_every=50)
    assert controller.limit >= before
    run(controller, clock, 1.1, latency=0.1, fault_every=500, rate_limited=True)
    assert controller.limit <= before * 0.7 + 1


def test_rising_latency_shrinks_it():
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 5.0, latency=0.05)
    before = controller.limit
    run(controller, clock, 3.0, latency=0.5)                 # ten times slower: Braze is queueing
    assert controller.limit < before * 0.6


def test_an_integer_pins_it_whatever_happens():
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(pinned=16), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 5.0, latency=0.1)
    run(controller, clock, 2.0, latency=0.1, congested=True)
    run(controller, clock, 2.0, latency=1.0)
    assert controller.limit == 16
    assert controller.latency() is not None


def test_a_growth_that_raises_no_pace_is_undone_and_held():
    """A sink on loopback answers in a millisecond, so the budget "needs" hundreds in flight; but
    the pace is bound by this machine's CPU: growing brings nothing, and is undone."""
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 100_000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 0.6, latency=0.001, rate=2000.0)
    grown = controller.limit
    assert grown > 8                                          # tried: requests wait, pace below budget
    run(controller, clock, 1.1, latency=0.001, rate=2000.0)  # the same pace with more in flight
    assert controller.limit == 8                              # undone
    run(controller, clock, FUTILE_HOLD_S - 1.0, latency=0.001, rate=2000.0)
    assert controller.limit == 8                              # and held


def test_a_growth_that_raises_the_pace_is_kept_judged_after_its_ramp():
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 0.1, latency=0.1)                  # 8 in flight: 80 requests/s
    grown = controller.limit
    assert grown > 8                            # decided once the first 8 requests came back
    # the interval it grew in: its first requests come back only after a latency, and the reading
    # thread fills the new slots meanwhile, so the pace is a fraction of what the limit carries
    run(controller, clock, 0.5, latency=0.1, rate=grown / 0.1 * 0.3)
    assert controller.limit == grown                          # not judged on that interval
    run(controller, clock, 0.6, latency=0.1)                  # Little's law: the pace follows the limit
    assert controller.limit >= grown


def test_a_growth_keeps_only_what_the_pace_it_reached_uses():
    """The budget asks for ~376 in flight at 3 ms; the pace rose, but to what 20 in flight carry."""
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 100_000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 0.6, latency=0.003, rate=1000.0)
    assert controller.limit > 300                                # 100,000/s x 3 ms x 1.25
    run(controller, clock, 1.1, latency=0.003, rate=5000.0)     # 5,000/s x 3 ms = 15 in flight
    assert 8 < controller.limit <= 25
    kept = controller.limit
    run(controller, clock, FUTILE_HOLD_S - 1.0, latency=0.003, rate=5000.0)
    assert controller.limit <= kept


def test_no_growth_while_the_tool_itself_is_the_bottleneck():
    """A process that uses a core's worth of CPU is bounded by itself (one Python process, the
    GIL): more requests in flight would not raise the pace, whatever the latency asks for."""
    clock = Clock(busy=0.95)
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 100_000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 5.0, latency=0.003)
    assert controller.limit == 8
    clock.busy = 0.5                # the same job, now waiting on the sink: it grows again
    run(controller, clock, 2.0, latency=0.003)
    assert controller.limit > 8


def test_before_the_first_answer_the_limit_follows_the_clock_and_stops_at_the_answer():
    """No answer after 0.1 s: the latency is at least 0.1 s, so the budget needs at least 100 in
    flight; the limit grows with the clock until an answer comes, and not before a request waits."""
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    clock.now = 0.05
    assert controller.tick() == 8                   # nothing waited for a slot yet
    controller.waited()
    clock.now = 0.15
    assert controller.tick() == 8 + 125             # 1,000/s x 0.1 s x 1.25 of headroom
    assert controller.opening
    clock.now = 0.3
    controller.answered(0.25, congested=False)
    assert not controller.opening
    assert controller.limit == 8 + 125              # what it had reached
    clock.now = 0.4
    assert controller.tick() == 8 + 125             # the clock no longer moves it
    pinned = Controller(ConcurrencyPolicy(pinned=8), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    pinned.waited()
    clock.now = 1.0
    assert pinned.tick() == 8


def test_a_fault_among_good_answers_is_retried_after_a_round_trip_a_storm_after_the_back_off():
    clock = Clock()
    controller = Controller(ConcurrencyPolicy(), budget=lambda: 1000.0, clock=clock, cpu=clock.cpu)
    run(controller, clock, 1.0, latency=0.1, fault_every=50)        # 2% of 503s
    assert controller.quick_retry_s() == 0.2                        # twice the median latency
    run(controller, clock, 0.5, latency=0.1, fault_every=3)         # a third of them now
    assert controller.quick_retry_s() is None                       # this interval is congested
    run(controller, clock, 0.3, latency=0.1)                        # ... and the next follows the last
    assert controller.quick_retry_s() is None
    run(controller, clock, 1.0, latency=0.1)
    assert controller.quick_retry_s() == 0.2
    controller.answered(0.1, congested=True, rate_limited=True)    # a 429 speaks for the bucket
    assert controller.quick_retry_s() is None
