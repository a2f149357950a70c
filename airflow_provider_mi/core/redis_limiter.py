"""
Rate limits shared through Redis by every process of a deployment.

The API's quota belongs to the access key, not to a process: workers and triggerers using the
same key and host share one limit per endpoint through Redis, with the semantics of this
process's own limiter (:mod:`airflow_provider_mi.core.limiter`): a call counts from its answer,
waiters are served in the order they asked, and nobody polls. The slots live in Redis, kept by
one Lua script (``redis_limiter.lua``) so that every change is atomic and every time is Redis's
clock. A call costs two round trips (take a slot, give it back), three when it has to queue, plus
one every :data:`WAIT_SECONDS` it stays queued.

Why not a library: ``limits`` and pyrate-limiter's Redis buckets count a call when it is allowed,
not when it is answered, and a caller they refuse has to ask again (polling).

If Redis cannot be reached, a call falls back to the process's own limiter (warned once, until
Redis answers again) or fails, as the connection chooses. A slot held by a process that died is
taken back when its lease runs out.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from airflow_provider_mi.core.limiter import SharedRateLimiter
from airflow_provider_mi.core.rate_limit import RateLimit
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceRateLimiterError

if TYPE_CHECKING:
    import redis
    import redis.asyncio

#: A registered script, sync or asyncio (redis-py's ``Script`` and ``AsyncScript``).
Script = Any

log = logging.getLogger(__name__)

#: What to do when Redis cannot be reached: use this process's own limiter, or fail the call.
FALLBACK_LOCAL, FALLBACK_FAIL = "local", "fail"
FALLBACKS = (FALLBACK_LOCAL, FALLBACK_FAIL)
#: How long a queued caller blocks on Redis before it says it still waits.
WAIT_SECONDS = 5.0
#: Callers of one process queued in Redis at once for one endpoint (each blocks a connection);
#: the others wait in the process, in order, without a round trip.
QUEUED_PER_PROCESS = 8
#: After Redis failed, how long calls use the fallback before Redis is tried again.
RETRY_REDIS_SECONDS = 5.0
#: Seconds a slot stays held beyond the request timeout, should its holder die.
LEASE_MARGIN_SECONDS = 10.0
#: The Redis connection extras used here, as the Redis provider's hook reads them.
_SSL_EXTRAS = ("ssl", "ssl_cert_reqs", "ssl_ca_certs", "ssl_keyfile", "ssl_certfile", "ssl_check_hostname")


@dataclass(frozen=True)
class RedisTarget:
    """
    Where the shared limits live: a Redis server, as an Airflow Redis connection describes it.

    :param host: host name or address.
    :param port: TCP port.
    :param db: database number.
    :param username: ACL user name, if any.
    :param password: password, if any; never shown in ``repr``.
    :param ssl: TLS options, as the Redis provider's connection extras name them.
    :param conn_id: the Airflow connection id, for messages.
    """

    host: str
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl: tuple[tuple[str, Any], ...] = ()
    conn_id: str = "the Redis connection"

    @classmethod
    def from_connection_fields(
        cls,
        *,
        host: str | None,
        port: int | None,
        login: str | None,
        password: str | None,
        extras: Mapping[str, Any],
        conn_id: str,
    ) -> RedisTarget:
        """
        Validate an Airflow Redis connection's fields, read as ``RedisHook`` reads them.

        :param host: the connection's host.
        :param port: its port (default 6379).
        :param login: the ACL user name.
        :param password: the password (``none``, ``false`` or empty: none).
        :param extras: its extras: ``db`` and the TLS options.
        :param conn_id: the connection id, named in errors.
        """
        if not host or not host.strip():
            raise InvalidParameterError(
                f"Redis connection {conn_id!r} has no host. Set the host of the Redis that every "
                "worker and triggerer reaches (e.g. Celery's broker)."
            )
        if extras.get("cluster"):
            raise InvalidParameterError(
                f"Redis connection {conn_id!r} is in cluster mode, which the shared rate limit does not "
                "support: its script keeps one endpoint's keys together on one server. Name a "
                "connection to a single Redis server (a replicated one is fine)."
            )
        db = extras.get("db") or 0
        if isinstance(db, bool) or not str(db).isdigit():
            raise InvalidParameterError(
                f"Redis connection {conn_id!r} has the extra 'db' {db!r}; it must be a database number "
                "such as 0."
            )
        return cls(
            host=host.strip(),
            port=port or 6379,
            db=int(db),
            username=login or None,
            password=None if str(password).lower() in {"none", "false", ""} else password,
            ssl=tuple((name, extras[name]) for name in _SSL_EXTRAS if name in extras),
            conn_id=conn_id,
        )

    def describe(self) -> str:
        """Say where the server is, e.g. ``Redis connection 'redis_default' (127.0.0.1:6379/0)``."""
        return f"Redis connection {self.conn_id!r} ({self.host}:{self.port}/{self.db})"

    def problem(self) -> str | None:
        """Say why this server cannot keep the shared limits now (one ``PING``), or ``None`` if it can."""
        import redis

        client = redis.Redis(**self.client_options())
        try:
            client.ping()
        except (redis.RedisError, OSError) as err:
            return f"{self.describe()} cannot be reached ({type(err).__name__}: {err})"
        finally:
            client.close()
        return None

    def client_options(self) -> dict[str, Any]:
        """Return the options of a redis-py client, sync or asyncio, for this server."""
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        return {
            "host": self.host,
            "port": self.port,
            "db": self.db,
            "username": self.username,
            "password": self.password,
            # A server that does not answer must not hold up a call for long: then the fallback applies.
            "socket_connect_timeout": 2.0,
            "socket_timeout": WAIT_SECONDS + 5.0,
            # One quick retry rides out a dropped connection; an outage is the fallback's to handle.
            "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
            "decode_responses": True,
            **dict(self.ssl),
        }


@dataclass(frozen=True)
class _Run:
    """Run the script (one round trip)."""

    args: list[str]


@dataclass(frozen=True)
class _Block:
    """Wait on a list for up to ``seconds`` (one round trip)."""

    key: str
    seconds: float


@dataclass(frozen=True)
class _Grant:
    """A slot held in Redis: its member, and how long to wait before it may be used."""

    member: str
    delay: float


_Steps = Generator["_Run | _Block", Any, _Grant]


@functools.cache
def _script() -> str:
    """The Lua script, read when a first limiter needs it: importing the hook stays cheap."""
    return files(__package__).joinpath("redis_limiter.lua").read_text()


class RedisRateLimiter:
    """
    One endpoint's limit, shared through Redis with every process using the same key and host.

    :param name: identifies the endpoint, API host and access key (hashed into the Redis keys).
    :param limit: the limit this process's connection sets (the strictest declared applies).
    :param lease_seconds: how long a slot stays held should its holder never give it back.
    :param target: the Redis server.
    :param fallback: ``local`` or ``fail`` (see :data:`FALLBACKS`).
    :param local: this process's own limiter, used while Redis cannot be reached.
    """

    def __init__(
        self,
        name: str,
        limit: RateLimit,
        lease_seconds: float,
        target: RedisTarget,
        fallback: str,
        local: SharedRateLimiter,
    ) -> None:
        self.limit = limit
        self.target = target
        self.fallback = fallback
        self.local = local
        self._prefix = "mi:rate-limit:{" + hashlib.sha256(name.encode()).hexdigest()[:24] + "}"
        self._lease = lease_seconds
        # Queued in Redis at most QUEUED_PER_PROCESS at a time; the rest wait here, in order.
        self._gate = SharedRateLimiter(RateLimit(QUEUED_PER_PROCESS, 0.0))
        self._client: tuple[redis.Redis, Script] | None = None
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[redis.asyncio.Redis, Script]
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._down = False  # Redis failed last time: calls use the fallback until _retry_at
        self._retry_at = 0.0
        self._declared: int | None = None  # the limit in force that was last warned about

    # -- the protocol, as steps: the same for threads and coroutines -------------------------------

    def _args(self, op: str, *rest: str) -> list[str]:
        return [op, repr(self.limit.period_seconds), repr(self._lease), *rest]

    def _acquire(self) -> _Steps:
        waiter, block = os.urandom(16).hex(), repr(WAIT_SECONDS)
        deadline = repr(2 * WAIT_SECONDS + 1)
        answer = yield _Run(self._args("acquire", str(self.limit.calls), waiter, deadline, block))
        self._note_limit(int(answer[3]))
        while answer[0] != "go":
            message = yield _Block(f"{self._prefix}:wake:{waiter}", float(answer[1]))
            if message is not None:
                delay, _, member = message.partition("|")
                return _Grant(member, float(delay))
            answer = yield _Run(self._args("heartbeat", waiter, deadline, block))
            if answer[0] == "lost":  # queued too long without a word (e.g. this process stalled)
                answer = yield _Run(self._args("acquire", str(self.limit.calls), waiter, deadline, block))
        return _Grant(answer[2], float(answer[1]))

    def _abandon_args(self, waiter_key: str) -> list[str]:
        return self._args("abandon", waiter_key.rsplit(":", 1)[1])

    def _release_args(self, grant: _Grant, used: bool) -> list[str]:
        return self._args("release", grant.member, "1" if used else "0")

    def _note_limit(self, calls: int) -> None:
        if calls != self.limit.calls and calls != self._declared:
            self._declared = calls
            log.warning(
                "Another process sharing %s for these credentials sets %d calls per %g s, stricter than "
                "this connection's %s; the stricter applies to all. Set the same limit on each connection.",
                self.target.describe(),
                calls,
                self.limit.period_seconds,
                self.limit.describe(),
            )

    # -- Redis unavailable ------------------------------------------------------------------------

    def _redis_usable(self) -> bool:
        return self.fallback == FALLBACK_FAIL or not self._down or time.monotonic() >= self._retry_at

    def _redis_failed(self, err: Exception) -> None:
        with self._lock:
            first, self._down = not self._down, True
            self._retry_at = time.monotonic() + RETRY_REDIS_SECONDS
        if self.fallback == FALLBACK_FAIL:
            raise MediaIntelligenceRateLimiterError(
                f"Could not reach {self.target.describe()}, which keeps the rate limit these credentials "
                f"share ({type(err).__name__}: {err}). The connection's 'rate_limit_redis_fallback' extra "
                "is 'fail': start Redis or fix the Redis connection, or set the extra to 'local'."
            ) from None
        if first:
            log.warning(
                "Could not reach %s (%s: %s): this process keeps the rate limit of %s on its own until "
                "Redis answers again, so processes sharing these credentials may exceed the quota together.",
                self.target.describe(),
                type(err).__name__,
                err,
                self.limit.describe(),
            )

    def _redis_answered(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                log.info("%s answers again: the rate limit is shared again.", self.target.describe())

    # -- threads -----------------------------------------------------------------------------------

    def _sync_client(self) -> tuple[redis.Redis, Script]:
        if self._client is None:
            import redis

            with self._lock:
                if self._client is None:
                    client = redis.Redis(**self.target.client_options())
                    self._client = (client, client.register_script(_script()))
        return self._client

    def _take(self) -> _Grant:
        client, script = self._sync_client()
        steps, result = self._acquire(), None
        while True:
            try:
                step = steps.send(result)
            except StopIteration as done:
                return done.value
            try:
                if isinstance(step, _Run):
                    result = script(keys=[self._prefix], args=step.args)
                else:
                    popped = client.blpop([step.key], timeout=step.seconds)
                    result = None if popped is None else popped[1]
            except BaseException as err:
                if isinstance(step, _Block) and not _is_redis_error(err):  # interrupted while queued
                    with suppress(Exception):  # else the waiter's deadline drops it
                        script(keys=[self._prefix], args=self._abandon_args(step.key))
                raise

    def _give_back(self, grant: _Grant, used: bool) -> None:
        try:
            self._sync_client()[1](keys=[self._prefix], args=self._release_args(grant, used))
        except Exception:  # the lease gives the slot back later
            log.debug("Could not give a slot back to %s.", self.target.describe(), exc_info=True)

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Hold a slot for one call, blocking until it may be made; yields the seconds waited."""
        start = time.monotonic()
        grant: _Grant | None = None
        if self._redis_usable():
            with self._gate.slot():
                try:
                    grant = self._take()
                    self._redis_answered()
                except Exception as err:
                    if not _is_redis_error(err):
                        raise
                    self._redis_failed(err)
        if grant is None:
            with self.local.slot():
                yield time.monotonic() - start
            return
        used = False
        try:
            if grant.delay > 0:
                time.sleep(grant.delay)
            used = True
            yield time.monotonic() - start
        finally:
            self._give_back(grant, used)

    # -- coroutines --------------------------------------------------------------------------------

    def _loop_client(self) -> tuple[redis.asyncio.Redis, Script]:
        # An asyncio client belongs to the event loop it first ran in.
        loop = asyncio.get_running_loop()
        found = self._async_clients.get(loop)
        if found is None:
            import redis.asyncio

            client = redis.asyncio.Redis(**self.target.client_options())
            found = self._async_clients[loop] = (client, client.register_script(_script()))
        return found

    async def _take_async(self) -> _Grant:
        client, script = self._loop_client()
        steps, result = self._acquire(), None
        while True:
            try:
                step = steps.send(result)
            except StopIteration as done:
                return done.value
            try:
                if isinstance(step, _Run):
                    result = await script(keys=[self._prefix], args=step.args)
                else:
                    popped = await client.blpop([step.key], timeout=step.seconds)
                    result = None if popped is None else popped[1]
            except BaseException as err:  # cancelled too: e.g. the trigger was
                if isinstance(step, _Block) and not _is_redis_error(err):
                    with suppress(Exception):
                        await asyncio.shield(script(keys=[self._prefix], args=self._abandon_args(step.key)))
                raise

    async def _give_back_async(self, grant: _Grant, used: bool) -> None:
        try:
            await self._loop_client()[1](keys=[self._prefix], args=self._release_args(grant, used))
        except Exception:  # the lease gives the slot back later
            log.debug("Could not give a slot back to %s.", self.target.describe(), exc_info=True)

    @asynccontextmanager
    async def slot_async(self) -> AsyncIterator[float]:
        """Hold a slot for one call, waiting without blocking the loop; yields the seconds waited."""
        start = time.monotonic()
        grant: _Grant | None = None
        if self._redis_usable():
            async with self._gate.slot_async():
                try:
                    grant = await self._take_async()
                    self._redis_answered()
                except Exception as err:
                    if not _is_redis_error(err):
                        raise
                    self._redis_failed(err)
        if grant is None:
            async with self.local.slot_async():
                yield time.monotonic() - start
            return
        used = False
        try:
            if grant.delay > 0:
                await asyncio.sleep(grant.delay)
            used = True
            yield time.monotonic() - start
        finally:
            await asyncio.shield(self._give_back_async(grant, used))


def _is_redis_error(err: BaseException) -> bool:
    """Whether ``err`` says Redis cannot serve now (down, restarting, failing over), not a bug."""
    import redis.exceptions as errors

    unavailable = (errors.ConnectionError, errors.TimeoutError, errors.BusyLoadingError, errors.ReadOnlyError)
    return isinstance(err, (*unavailable, OSError))


_limiters: dict[tuple[str, RedisTarget], RedisRateLimiter] = {}
_limiters_lock = threading.Lock()


def redis_limiter(
    endpoint: str,
    limit: RateLimit,
    *,
    base_url: str,
    access_key: str,
    lease_seconds: float,
    target: RedisTarget,
    fallback: str,
    local: SharedRateLimiter,
) -> RedisRateLimiter:
    """
    Return this process's limiter of one endpoint, host and access key, shared through ``target``.

    :param endpoint: the endpoint's name, e.g. ``complete_upload``.
    :param limit: the limit configured for it.
    :param base_url: the API base URL.
    :param access_key: the access key ID the calls are signed with.
    :param lease_seconds: how long a slot stays held should its holder die.
    :param target: the Redis server.
    :param fallback: ``local`` or ``fail``.
    :param local: the process's own limiter of the endpoint, the fallback.
    """
    name = f"{endpoint}\n{base_url}\n{access_key}"
    key = (f"{name}\n{limit}\n{lease_seconds}\n{fallback}", target)
    limiter = _limiters.get(key)
    if limiter is None:
        with _limiters_lock:
            limiter = _limiters.setdefault(
                key, RedisRateLimiter(name, limit, lease_seconds, target, fallback, local)
            )
    return limiter
