"""Making provider calls survive thousands of unattended games.

* `call_with_retries`: one provider call, retried with exponential backoff and full jitter
  (tenacity) on rate limits, 5xx, timeouts and connection errors; each try bounded by a
  timeout. This is the ONLY retry layer: callers must switch off litellm's and the OpenAI
  SDK's own retries (`num_retries=0`).
* `AdaptiveLimiter`: a concurrency limit per provider endpoint, shared by every agent of the
  process that talks to it (`limiter_for`), that learns the provider's ceiling. It starts at
  the maximum; a rate limit (429) brings it to one below the requests then out (a burst of
  429s: down to what the provider accepted), a cut of at most `decrease` per window when few
  were out; every `increase_after` consecutive successes raise it by one, up to the maximum.
  A 429 that left the limiter full is retried as soon as a request finishes (first in the
  queue), not after a blind sleep; other retries back off with jitter.
* `ReliabilitySettings`: the knobs, read from `ARENA_LLM_*` environment variables.

Nothing here knows about games or litellm; it classifies errors by their status code and
type (litellm's exceptions carry `status_code`).
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

T = TypeVar("T")

ENV_PREFIX = "ARENA_LLM_"
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})  # and every 5xx
# Errors that mean a bug or a missing dependency, not a flaky provider (litellm wraps those in
# APIConnectionError with status 500): retrying them only wastes time.
_PROGRAMMING_ERRORS = (ImportError, TypeError, AttributeError, NameError, KeyError, AssertionError)


@dataclass(frozen=True)
class ReliabilitySettings:
    """Retry, timeout and concurrency knobs. Environment: ARENA_LLM_<FIELD NAME IN CAPITALS>."""

    attempts: int = 6            # provider calls per reply at most (1 = no retries)
    backoff_base: float = 1.0    # seconds; the n-th retry waits uniform(0, base * 2**(n-1))
    backoff_max: float = 30.0    # seconds; cap of one wait (also caps a server's Retry-After)
    timeout: float = 60.0        # seconds; one provider call
    max_concurrency: int = 64    # in-flight calls per provider endpoint, at most (and at start)
    increase_after: int = 10     # consecutive successes before the limit grows by one
    decrease: float = 0.75       # a 429 cuts the limit by at most this factor (once per window)

    def __post_init__(self) -> None:
        for name in ("attempts", "max_concurrency", "increase_after"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if not 0 < self.decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1, not {self.decrease}")
        for name in ("backoff_base", "backoff_max", "timeout"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (name == "timeout" and value == 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReliabilitySettings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = ENV_PREFIX + f.name.upper()
            raw = environ.get(var)
            if raw is None or not raw.strip():
                continue
            try:
                values[f.name] = int(raw) if f.type in ("int", int) else float(raw)
            except ValueError:
                raise ValueError(f"{var}={raw!r} is not a {f.type}") from None
        try:
            return cls(**values)
        except ValueError as err:
            raise ValueError(f"bad {ENV_PREFIX}* setting: {err}") from None


# -- error classification ----------------------------------------------------------------------
def status_of(err: BaseException) -> int | None:
    status = getattr(err, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _causes(err: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    cur: BaseException | None = err
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return chain


def is_overload(err: BaseException) -> bool:
    """A rate limit: the provider wants fewer requests (HTTP 429)."""
    return status_of(err) == 429 or type(err).__name__ == "RateLimitError"


def is_retryable(err: BaseException) -> bool:
    """Rate limits, server errors, timeouts and connection errors; not bad requests or bugs."""
    if any(isinstance(c, _PROGRAMMING_ERRORS) for c in _causes(err)[1:]) or isinstance(err, _PROGRAMMING_ERRORS):
        return False
    if isinstance(err, (TimeoutError, ConnectionError)):
        return True
    status = status_of(err)
    if status is not None:
        return status in RETRYABLE_STATUS or status >= 500
    names = {cls.__name__ for cls in type(err).__mro__}
    # openai/litellm: APIConnectionError, APITimeoutError, Timeout; httpx: TransportError.
    return bool(names & {"APIConnectionError", "APITimeoutError", "Timeout", "TransportError",
                         "TimeoutException", "ClientConnectionError", "ServerDisconnectedError"})


def retry_after(err: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After / retry-after-ms headers), if any."""
    for source in (getattr(err, "litellm_response_headers", None),
                   getattr(getattr(err, "response", None), "headers", None),
                   getattr(err, "headers", None)):
        if not source:
            continue
        try:
            ms = source.get("retry-after-ms")
            if ms is not None:
                return max(0.0, float(ms) / 1000)
            seconds = source.get("retry-after")
            if seconds is not None:
                return max(0.0, float(seconds))
        except (TypeError, ValueError, AttributeError):
            continue
    return None


class _Backoff:
    """How long a retry sleeps before it queues for a slot again.

    * A 429 whose request left the limiter full (`slot_bound()`): not at all. The limiter
      lowered its limit below the requests out, so the retry (first in the queue) is sent when
      one of them finishes: when the provider has room, which no fixed sleep can know.
    * Otherwise full-jitter exponential backoff, never shorter than the server's Retry-After
      (capped at `cap`); a Retry-After of 0 does not cancel the backoff: a server saying "now"
      while refusing every request would otherwise burn every attempt at once.
    """

    def __init__(self, base: float, cap: float, slot_bound: Callable[[], bool] = lambda: False) -> None:
        self.cap = cap
        self.jitter = wait_random_exponential(multiplier=base, max=cap)
        self.slot_bound = slot_bound

    def __call__(self, retry_state: Any) -> float:
        outcome = retry_state.outcome
        err = outcome.exception() if outcome is not None and outcome.failed else None
        asked = retry_after(err) if err is not None else None
        if err is not None and is_overload(err) and self.slot_bound():
            return min(asked, self.cap) if asked else 0.0
        wait = self.jitter(retry_state)
        return max(wait, min(asked, self.cap)) if asked else wait


# -- the adaptive limiter ----------------------------------------------------------------------
class AdaptiveLimiter:
    """A concurrency limit that finds the provider's ceiling and stays just under it.

    A 429 is a request the provider had no room for: the limit goes to one below the number
    of requests out at that moment (this one included) — a provider that refused the 21st has
    room for 20, whatever the limit said. So a burst of 429s (everything sent above a hard
    ceiling) brings the limit down to the ceiling, one refusal each, not below it; a refused
    request's retry then waits for a request to finish, i.e. for room that really exists.
    A refusal of a request sent since the last such refusal (a new *window*) may instead cut
    by at most `decrease` (the floor of that cut): with few requests out (a rate limit, a shared
    key) the limit falls geometrically, once per window, not to the number out at once.
    `increase_after` consecutive successes raise the limit by one (probing for room), up
    to `max_limit`; at a hard ceiling each probe costs one 429 and one step down.

    Not thread-safe; usable from any event loop (waiters are futures of the loop that waits).
    """

    def __init__(self, max_limit: int = 64, *, min_limit: int = 1, increase_after: int = 10,
                 decrease: float = 0.5) -> None:
        if not 1 <= min_limit <= max_limit:
            raise ValueError(f"need 1 <= min_limit <= max_limit, got {min_limit}, {max_limit}")
        self.decrease = decrease
        self.max_limit = max_limit
        self.min_limit = min_limit
        self.increase_after = increase_after
        self.limit = max_limit
        self.in_flight = 0
        self.epoch = 0            # the window; bumped by every refusal of a request sent in it
        self.successes = 0        # consecutive, since the last overload
        self.overloads = 0        # 429s seen
        self.cuts = 0             # 429s that lowered the limit
        self._waiters: deque[asyncio.Future[int]] = deque()

    def __repr__(self) -> str:
        return f"AdaptiveLimiter(limit={self.limit}/{self.max_limit}, in_flight={self.in_flight})"

    async def acquire(self, *, first: bool = False) -> int:
        """Wait for a slot; returns the window the request is sent in (give it to
        `on_overload`). `first`: ahead of the queue (a retry, which has queued once already)."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return self.epoch
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if first:
            self._waiters.appendleft(future)
        else:
            self._waiters.append(future)
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # a slot was handed over: pass it on
                self.release()
            else:
                try:
                    self._waiters.remove(future)
                except ValueError:
                    pass
            raise

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            future = self._waiters.popleft()
            if future.done() or future.get_loop().is_closed():
                continue
            self.in_flight += 1  # the slot belongs to the woken waiter from now on
            future.set_result(self.epoch)

    def on_success(self) -> None:
        self.successes += 1
        if self.successes >= self.increase_after and self.limit < self.max_limit:
            self.limit += 1
            self.successes = 0
            self._wake()

    def on_overload(self, epoch: int | None = None) -> bool:
        """A 429 for a request sent in window `epoch` (None: the current one), still counted
        in `in_flight` when it runs in a slot. Returns whether the limit went down."""
        self.overloads += 1
        self.successes = 0
        new_window = epoch is None or epoch == self.epoch  # the first refusal of this limit
        if self.in_flight:
            lowered = min(self.limit, self.in_flight) - 1
        else:  # a caller that takes no slots: how many requests are out is not known
            lowered = 0 if new_window else self.limit
        if new_window:
            self.epoch += 1
            lowered = max(lowered, int(self.limit * self.decrease))
        lowered = max(self.min_limit, lowered)
        if lowered >= self.limit:
            return False
        self.limit = lowered
        self.cuts += 1
        return True

    async def run(self, call: Callable[[], Awaitable[T]], *, first: bool = False,
                  refused: Callable[[bool], None] | None = None) -> T:
        """`call()` inside a slot, feeding its outcome back into the limit. On a 429,
        `refused(full)` says whether the limiter is full without this request's slot (its
        retry waits for another request to finish)."""
        epoch = await self.acquire(first=first)
        try:
            result = await call()
        except BaseException as err:
            if is_overload(err):
                self.on_overload(epoch)
                if refused is not None:
                    refused(self.in_flight - 1 >= self.limit)
            raise
        finally:
            self.release()
        self.on_success()
        return result


_LIMITERS: dict[Hashable, AdaptiveLimiter] = {}


def limiter_for(key: Hashable, settings: ReliabilitySettings | None = None) -> AdaptiveLimiter:
    """The process-wide limiter of one provider endpoint, e.g. key ("openai", api_base).
    Settings apply when the limiter is created (the first agent of that endpoint)."""
    limiter = _LIMITERS.get(key)
    if limiter is None:
        settings = settings or ReliabilitySettings.from_env()
        limiter = _LIMITERS[key] = AdaptiveLimiter(settings.max_concurrency,
                                                   increase_after=settings.increase_after,
                                                   decrease=settings.decrease)
    return limiter


def reset_limiters() -> None:
    """Forget every limiter (tests)."""
    _LIMITERS.clear()


# -- retries -----------------------------------------------------------------------------------
class CallFailed(RuntimeError):
    """Every attempt failed, or the error was not worth retrying. `__cause__` is the last error."""

    def __init__(self, error: BaseException, attempts: int) -> None:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        super().__init__(f"{type(error).__name__}: {first_line}"[:500]
                         + (f" (after {attempts} attempts)" if attempts > 1 else ""))
        self.error = error
        self.attempts = attempts


@dataclass
class Attempts:
    """Counts provider calls (the caller may share one across several `call_with_retries`)."""

    count: int = 0


async def call_with_retries(
    call: Callable[[], Awaitable[T]], *, settings: ReliabilitySettings,
    limiter: AdaptiveLimiter | None = None, attempts: Attempts | None = None,
    max_attempts: int | None = None, guard_timeout: float | None = None,
) -> T:
    """`call()` until it succeeds, at most `max_attempts` (default `settings.attempts`) times.

    Each try runs inside a `limiter` slot (when given) and, when `guard_timeout` is set, under
    `asyncio.wait_for` (for providers that ignore their own timeout). Retries only errors
    `is_retryable` accepts, waiting as `_Backoff` says (a retry queues ahead of new requests).
    Raises `CallFailed`.
    """
    counter = attempts if attempts is not None else Attempts()
    tries = 0
    slot_bound = False  # the last try was a 429 that left the limiter full

    def refused(full: bool) -> None:
        nonlocal slot_bound
        slot_bound = full

    async def once() -> T:
        nonlocal tries, slot_bound
        tries += 1
        counter.count += 1
        slot_bound = False
        coro = (lambda: asyncio.wait_for(call(), guard_timeout)) if guard_timeout else call
        if limiter is None:
            return await coro()
        return await limiter.run(coro, first=tries > 1, refused=refused)

    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(max_attempts or settings.attempts),
            wait=_Backoff(settings.backoff_base, settings.backoff_max, lambda: slot_bound),
            retry=retry_if_exception(is_retryable),
            reraise=True,
        ):
            with attempt:
                return await once()
    except asyncio.CancelledError:
        raise
    except Exception as err:
        raise CallFailed(err, tries) from err
    raise AssertionError("unreachable")  # pragma: no cover
