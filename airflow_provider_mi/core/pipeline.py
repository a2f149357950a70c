"""
The request pipeline of both hooks: sign, limit, send, parse, retry, written once.

A call is a generator of steps, free of I/O: it yields an :class:`Exchange` to send (or a
:class:`Sleep`) and is sent back what came of it, an :class:`Answer` or a :class:`Failure`. The
sync hook drives it with requests and ``time.sleep`` (:func:`run`), the async hook with aiohttp
and ``asyncio.sleep`` (:func:`run_async`); each hook only says how to send one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from airflow_provider_mi.core.endpoints import ApiRequest
from airflow_provider_mi.core.limiter import RateLimiter
from airflow_provider_mi.core.models import PresignedUpload, UploadLanding
from airflow_provider_mi.core.responses import parse_api_response, parse_storage_answer
from airflow_provider_mi.core.retry import LoggerLike, RetryPolicy
from airflow_provider_mi.core.settings import ConnectionSettings
from airflow_provider_mi.exceptions import MediaIntelligenceConnectionError, MediaIntelligenceError

T = TypeVar("T")

#: A wait for a rate-limit slot at least this long (seconds) is logged.
NOTABLE_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class Exchange:
    """
    One HTTP request to send while holding a slot of its rate limit, if it has one.

    :param method: HTTP method.
    :param url: the absolute URL.
    :param body: the body, or ``None``.
    :param action: how messages name it, e.g. ``POST /api/v1/... to https://host`` (no secret).
    :param sign: returns the headers; called once the slot is held, so a long wait for a turn
        cannot age the signature's timestamp.
    :param limiter: the rate limiter whose slot the request holds until its answer is in.
    """

    method: str
    url: str
    body: bytes | None
    action: str
    sign: Callable[[], dict[str, str]] = field(default=dict, repr=False)
    limiter: RateLimiter | None = None

    def slot(self) -> AbstractContextManager[float]:
        """Hold the slot (blocking); yields the seconds waited for it."""
        return self.limiter.slot() if self.limiter else nullcontext(0.0)

    def slot_async(self) -> AbstractAsyncContextManager[float]:
        """Hold the slot (without blocking the loop); yields the seconds waited for it."""
        return self.limiter.slot_async() if self.limiter else nullcontext(0.0)


@dataclass(frozen=True)
class Answer:
    """What the server answered: status, headers, body; and how long the request waited for a turn."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    waited: float = 0.0


@dataclass(frozen=True)
class Failure:
    """No readable answer (could not connect, timed out, cut short); and the wait for a turn."""

    error: MediaIntelligenceError
    waited: float = 0.0


@dataclass(frozen=True)
class Sleep:
    """Wait before the next attempt."""

    seconds: float


@dataclass(frozen=True)
class Done(Generic[T]):
    """A result known before sending anything (e.g. an expired upload URL is not used)."""

    value: T


Steps = Generator["Exchange | Sleep", "Answer | Failure | None", T]


def retrying(
    prepare: Callable[[list[MediaIntelligenceError]], Exchange | Done[T]],
    read: Callable[[Answer, list[MediaIntelligenceError]], T],
    policy: RetryPolicy,
    log: LoggerLike,
) -> Steps[T]:
    """
    Attempt until an answer is read, retrying transient failures as ``policy`` allows.

    Waits for a rate-limit slot are left out of the time budget: they say nothing of the API's
    health, and under load would leave a 5xx no retry.

    :param prepare: the next attempt's request, given the failures so far (or a result already).
    :param read: the value of an answer, or raises the error it stands for.
    :param policy: the bounds of the retries.
    :param log: where waits and retries are announced.
    """
    failures: list[MediaIntelligenceError] = []
    started, queued = time.monotonic(), 0.0
    while True:
        step = prepare(failures)
        if isinstance(step, Done):
            return step.value
        outcome = yield step
        assert outcome is not None
        queued += outcome.waited
        if outcome.waited >= NOTABLE_WAIT_SECONDS and step.limiter is not None:
            log.info(
                "Waited %.1f s for a turn under the client-side limit of %s.",
                outcome.waited,
                step.limiter.limit.describe(),
            )
        try:
            if isinstance(outcome, Failure):
                raise outcome.error
            return read(outcome, failures)
        except MediaIntelligenceError as err:
            attempts = len(failures) + 1
            wait = policy.next_wait(err, attempts, time.monotonic() - started - queued)
            if wait is None:
                raise
            reason = str(err).rstrip(".")
            log.warning(
                "Attempt %d of %d failed: %s. Retrying in %.2f s.",
                attempts,
                policy.max_attempts,
                reason,
                wait,
            )
            failures.append(err)
        yield Sleep(wait)


def api_call(
    request: ApiRequest[T], settings: ConnectionSettings, log: LoggerLike, policy: RetryPolicy | None = None
) -> Steps[T]:
    """
    Return the steps of one signed API call; its value is the parsed ``result``.

    :param request: the request (:mod:`airflow_provider_mi.core.endpoints`).
    :param settings: the connection's settings: credentials, host, limits, retries.
    :param log: where waits and retries are announced.
    :param policy: the retries to allow, if not the connection's.
    """
    exchange = Exchange(
        request.method,
        request.url(settings.base_url),
        request.body,
        request.describe(settings.base_url),
        lambda: request.headers(settings.access_key, settings.secret_key),
        settings.limiter(request.endpoint),
    )

    def read(answer: Answer, failures: list[MediaIntelligenceError]) -> T:
        return request.parse(parse_api_response(answer.status, answer.headers, answer.body), request.payload)

    return (yield from retrying(lambda failures: exchange, read, policy or settings.retry, log))


def upload(
    presigned: PresignedUpload, data: bytes, settings: ConnectionSettings, log: LoggerLike
) -> Steps[UploadLanding]:
    """
    Return the steps of a ``PUT`` to a presigned URL; its value is what the answers prove.

    An attempt whose answer was lost may have stored the bytes: the single-use URL then refuses
    the next one, or expires, and only completion can tell (``UNCERTAIN``). An expired URL is never
    used.

    :param presigned: the presigned upload.
    :param data: the image's bytes.
    :param settings: the connection's settings (the retry policy).
    :param log: where expiries and retries are announced.
    """
    action = f"Uploading thumbnail {presigned.thumbnail_key!r}"
    exchange = Exchange("PUT", presigned.url, data, action)

    def maybe_landed(failures: list[MediaIntelligenceError]) -> bool:
        return any(isinstance(failure, MediaIntelligenceConnectionError) for failure in failures)

    def prepare(failures: list[MediaIntelligenceError]) -> Exchange | Done[UploadLanding]:
        if not presigned.expired():
            return exchange
        log.warning(
            "The upload URL of %r expired (issued %.0f s ago, valid %s s).",
            presigned.thumbnail_key,
            presigned.age(),
            presigned.expiration_seconds,
        )
        return Done(UploadLanding.UNCERTAIN if maybe_landed(failures) else UploadLanding.NOT_LANDED)

    def read(answer: Answer, failures: list[MediaIntelligenceError]) -> UploadLanding:
        return parse_storage_answer(answer.status, presigned, maybe_landed(failures))

    return (yield from retrying(prepare, read, settings.retry, log))


def run(steps: Steps[T], send: Callable[[Exchange], Answer | Failure]) -> T:
    """
    Drive ``steps`` to their value, blocking: each exchange by ``send``, each sleep by ``time.sleep``.

    :param steps: a call's steps.
    :param send: sends one request and says what came of it.
    """
    outcome: Answer | Failure | None = None
    while True:
        try:
            step = steps.send(outcome)
        except StopIteration as finished:
            return finished.value
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            outcome = None
        else:
            outcome = send(step)


async def run_async(steps: Steps[T], send: Callable[[Exchange], Awaitable[Answer | Failure]]) -> T:
    """
    Drive ``steps`` to their value in the event loop: exchanges by ``send``, sleeps by ``asyncio.sleep``.

    :param steps: a call's steps.
    :param send: sends one request and says what came of it.
    """
    outcome: Answer | Failure | None = None
    while True:
        try:
            step = steps.send(outcome)
        except StopIteration as finished:
            return finished.value
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            outcome = None
        else:
            outcome = await send(step)
