"""The adaptive concurrency limiter against simulated providers: it must find a hard ceiling,
stay at it, and never let a reply fail. Time is simulated by event-loop steps (a call "takes"
a fixed number of `sleep(0)`s), so every run is the same and no assertion depends on a clock."""

from __future__ import annotations

import asyncio
import statistics

import pytest

from persona_arena.agents.reliability import (
    AdaptiveLimiter, Attempts, CallFailed, ReliabilitySettings, _Backoff, call_with_retries,
)


class _Refused(Exception):
    """What litellm raises for a 429: an exception with `status_code`."""

    def __init__(self, retry_after: str | None = None) -> None:
        super().__init__("429 Too Many Requests")
        self.status_code = 429
        self.litellm_response_headers = {"retry-after": retry_after} if retry_after is not None else None


class CeilingProvider:
    """Serves at most `ceiling` requests at once and refuses (429, at once) any above that, like
    a provider with a per-key concurrency limit; a served request takes `steps` loop steps."""

    def __init__(self, ceiling: int, steps: int = 30) -> None:
        self.ceiling = ceiling
        self.steps = steps
        self.in_flight = 0
        self.served = 0
        self.refused = 0

    async def call(self) -> str:
        self.in_flight += 1
        try:
            if self.in_flight > self.ceiling:
                self.refused += 1
                raise _Refused()
            for _ in range(self.steps):
                await asyncio.sleep(0)
            self.served += 1
            return "ok"
        finally:
            self.in_flight -= 1


NO_SLEEP = ReliabilitySettings(attempts=6, backoff_base=0.0, backoff_max=0.0)


async def play_against(provider: CeilingProvider, limiter: AdaptiveLimiter, *, players: int, calls_each: int,
                       settings: ReliabilitySettings = NO_SLEEP) -> tuple[list[int], list[int]]:
    """`players` agents, each making `calls_each` calls one after the other. Returns the limit
    seen at every call sent and the attempts each call took."""
    limits: list[int] = []
    attempts: list[int] = []

    async def observed() -> str:
        limits.append(limiter.limit)
        return await provider.call()

    async def player() -> None:
        for _ in range(calls_each):
            counter = Attempts()
            await call_with_retries(observed, settings=settings, limiter=limiter, attempts=counter)
            attempts.append(counter.count)

    await asyncio.gather(*(player() for _ in range(players)))
    return limits, attempts


async def test_the_limit_converges_on_a_hard_ceiling_and_no_call_fails():
    provider = CeilingProvider(ceiling=20)
    limiter = AdaptiveLimiter(64, increase_after=10, decrease=0.75)
    limits, attempts = await play_against(provider, limiter, players=200, calls_each=10)
    assert provider.served == 2000 and len(attempts) == 2000  # every call answered: no CallFailed
    settled = limits[300:]
    # AIMD with a multiplicative cut spends most of its time near 0.75 x 20 = 15. (The limit
    # counts a request until its caller has the answer, a few loop steps after the provider
    # let go of it, so it settles a little above the provider's own count.)
    assert min(settled) >= 19 and statistics.mean(settled) >= 19.5 and max(settled) <= 24
    assert provider.refused <= 0.15 * 2000  # one probe in `increase_after` successes, at most
    assert max(attempts) <= 2  # a refused call's retry waits for a slot the provider really has


async def test_a_burst_above_the_ceiling_brings_the_limit_to_the_ceiling_not_below():
    limiter = AdaptiveLimiter(64, decrease=0.75)
    windows = [await limiter.acquire() for _ in range(64)]
    for epoch in windows[20:]:  # the provider took 20 and refuses the other 44, at once
        limiter.on_overload(epoch)
        limiter.release()
    assert limiter.limit == 20 and limiter.in_flight == 20
    assert limiter.cuts == 44


async def test_probing_past_the_ceiling_costs_one_step_not_a_multiplicative_cut():
    limiter = AdaptiveLimiter(64, increase_after=10, decrease=0.5)
    limiter.limit = 20
    windows = [await limiter.acquire() for _ in range(20)]
    for _ in range(10):
        limiter.on_success()
    assert limiter.limit == 21  # the probe
    probe = await limiter.acquire()
    assert limiter.on_overload(probe) and limiter.limit == 20  # not 10
    limiter.release()
    for _ in windows:
        limiter.release()
    assert limiter.in_flight == 0


async def test_a_lone_refusal_cuts_by_decrease_once_per_window():
    """A rate limit refuses even a lone request: the limit falls by `decrease` per window (a
    refusal of a request sent since the last cut), not to the one request that was out."""
    limiter = AdaptiveLimiter(64, decrease=0.75)
    limits = []
    for _ in range(3):  # a request and its two retries, each refused alone
        limiter.on_overload(await limiter.acquire())
        limiter.release()
        limits.append(limiter.limit)
    assert limits == [48, 36, 27] and limiter.cuts == 3


async def test_refusals_of_requests_sent_before_a_cut_say_how_much_room_there_was():
    limiter = AdaptiveLimiter(64, decrease=0.75)
    sent = [await limiter.acquire() for _ in range(4)]
    assert limiter.on_overload(sent[0]) and limiter.limit == 48  # a new window: at most x0.75
    limiter.release()
    for epoch in sent[1:]:  # the provider had room for none of them: the limit follows
        limiter.on_overload(epoch)
        limiter.release()
    assert limiter.limit == 1 and limiter.in_flight == 0
    for _ in range(3 * limiter.increase_after):
        limiter.on_success()
    assert limiter.limit == 4  # and grows back by one per `increase_after` successes


async def test_a_refused_request_that_cannot_be_explained_by_the_limit_backs_off():
    """A provider that refuses everything (a spent quota): the limit falls to its minimum and the
    retries back off exponentially instead of spinning; the call fails after its attempts."""
    limiter = AdaptiveLimiter(8, decrease=0.5)
    calls = 0

    async def spent() -> str:
        nonlocal calls
        calls += 1
        raise _Refused()

    settings = ReliabilitySettings(attempts=4, backoff_base=0.0, backoff_max=0.0)
    with pytest.raises(CallFailed, match="after 4 attempts"):
        await call_with_retries(spent, settings=settings, limiter=limiter)
    assert calls == 4 and limiter.limit == 1 and limiter.in_flight == 0


async def test_retries_queue_ahead_of_new_requests():
    limiter = AdaptiveLimiter(1)
    await limiter.acquire()
    order: list[str] = []

    async def wait(name: str, first: bool) -> None:
        await limiter.acquire(first=first)
        order.append(name)
        limiter.release()

    newer = asyncio.create_task(wait("new request", False))
    await asyncio.sleep(0)
    retry = asyncio.create_task(wait("retry", True))
    await asyncio.sleep(0)
    limiter.release()
    await asyncio.gather(newer, retry)
    assert order == ["retry", "new request"]


class _State:
    """The part of tenacity's RetryCallState that a wait reads: a failed try and its number."""

    failed = True

    def __init__(self, err: BaseException, attempt: int = 1) -> None:
        self.attempt_number = attempt
        self.outcome = self
        self._err = err

    def exception(self) -> BaseException:
        return self._err


def test_backoff_honours_retry_after_but_not_a_zero_that_would_spin():
    slot_bound = False
    backoff = _Backoff(base=4.0, cap=30.0, slot_bound=lambda: slot_bound)
    assert backoff(_State(_Refused("2"))) >= 2.0  # the server's wait, at least
    assert backoff(_State(_Refused("600"))) == 30.0  # capped
    waits = {backoff(_State(_Refused("0"), attempt=3)) for _ in range(50)}
    assert max(waits) > 0  # "retry now" does not switch the jitter off
    slot_bound = True  # the limiter is full without this request: wait for a slot, not a timer
    assert backoff(_State(_Refused("0"))) == 0.0 and backoff(_State(_Refused())) == 0.0
    assert backoff(_State(_Refused("2"))) == 2.0  # ...unless the server asked for a wait
