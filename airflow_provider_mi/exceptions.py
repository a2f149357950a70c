"""
Exceptions raised by the Media Intelligence provider.

Following Airflow's current guidance for providers, these are specific exception types rather
than a bare ``AirflowException``: callers decide with one ``isinstance`` (or ``retryable``)
whether a failure may heal by itself. Each error turns into plain JSON (:meth:`payload`) and back
(:func:`error_from_payload`), so a trigger's event raises the same error in the task as poke mode
does. This module does not import Airflow.
"""

from __future__ import annotations

from typing import Any


class MediaIntelligenceError(Exception):
    """Base class of every error raised by this provider."""

    #: Whether the same request may succeed if sent again later.
    retryable: bool = False

    def payload(self) -> dict[str, Any]:
        """Return the error as plain JSON: its type's name and what rebuilds it."""
        return {"type": type(self).__name__, "message": str(self)}

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> MediaIntelligenceError:
        return cls(payload["message"])


class InvalidParameterError(MediaIntelligenceError, ValueError):
    """A value given to the provider (argument or connection field) is invalid; nothing was sent."""


class MediaIntelligenceConnectionError(MediaIntelligenceError):
    """The API could not be reached or did not answer in time (connection refused, reset, timeout)."""

    retryable = True


class MediaIntelligenceApiError(MediaIntelligenceError):
    """
    The API (or the NCP API Gateway in front of it) answered with an error.

    :param status: HTTP status code of the response.
    :param code: error code from the response envelope (``code`` or ``error.errorCode``), if any.
    :param message: error message from the response envelope, if any.
    :param details: further explanation from the gateway envelope, if any.
    :param retry_after: seconds the server asked to wait before retrying, if it said so.
    :param hint: what the user can do about it.
    :param envelope: whose error envelope the body was: ``api`` (Media Intelligence's own),
        ``gateway`` (NCP API Gateway's), or ``None`` when it was neither (then the answer may not
        come from the API at all, e.g. a web server at a wrong host).
    """

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        details: str | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
        envelope: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after
        self.hint = hint
        self.envelope = envelope
        super().__init__(self._describe())

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        """HTTP 429 and 5xx may heal by themselves; other errors do not."""
        return self.status == 429 or self.status >= 500

    def _describe(self) -> str:
        text = f"Media Intelligence API answered HTTP {self.status}"
        if self.code is not None:
            text += f" (code {self.code})"
        sentences = [part.rstrip(". ") for part in (self.message, self.details, self.hint) if part]
        if sentences:
            text += ": " + ". ".join(sentences) + "."
        return text

    def payload(self) -> dict[str, Any]:
        """Return the error as plain JSON, with every field of the answer."""
        fields = ("status", "code", "details", "retry_after", "hint", "envelope")
        return {
            **super().payload(),
            "api_message": self.message,
            **{name: getattr(self, name) for name in fields},
        }

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> MediaIntelligenceError:
        return cls(
            payload["status"],
            payload.get("code"),
            payload.get("api_message"),
            details=payload.get("details"),
            retry_after=payload.get("retry_after"),
            hint=payload.get("hint"),
            envelope=payload.get("envelope"),
        )


class MediaIntelligenceAuthenticationError(MediaIntelligenceApiError):
    """The gateway rejected the credentials, the signature or the timestamp (HTTP 401)."""


class MediaIntelligenceResponseError(MediaIntelligenceError):
    """
    The API answered HTTP 2xx with a body this provider cannot read.

    :param problem: what is wrong with the body.
    :param retryable: whether sending the request again may help (e.g. a truncated body).
    """

    def __init__(self, problem: str, *, retryable: bool) -> None:
        self.problem = problem
        self.retryable = retryable
        super().__init__(f"Media Intelligence API sent an unreadable response: {problem}")

    def payload(self) -> dict[str, Any]:
        """Return the error as plain JSON."""
        return {**super().payload(), "problem": self.problem, "retryable": self.retryable}

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> MediaIntelligenceError:
        return cls(payload["problem"], retryable=bool(payload.get("retryable")))


class PersonThumbnailNotReadyError(MediaIntelligenceError):
    """The API does not see the upload yet (``FILE_NOT_EXIST``): the task's retries may wait for it."""

    retryable = True


class MediaIntelligenceUploadError(MediaIntelligenceError):
    """An image could not be uploaded to its presigned URL (refused, or never seen to land)."""


class MediaIntelligenceRateLimiterError(MediaIntelligenceError):
    """The Redis that keeps a shared rate limit could not be reached, and the connection says to fail then."""

    retryable = True


class MediaIntelligenceGaveUpError(MediaIntelligenceError):
    """A wait gave up: its checks failed with transient errors ``max_consecutive_errors`` times in a row."""


def _error_types() -> dict[str, type[MediaIntelligenceError]]:
    found: dict[str, type[MediaIntelligenceError]] = {}
    pending: list[type[MediaIntelligenceError]] = [MediaIntelligenceError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.__name__, cls)
        pending.extend(cls.__subclasses__())
    return found


def error_from_payload(payload: dict[str, Any]) -> MediaIntelligenceError:
    """
    Rebuild the error that :meth:`MediaIntelligenceError.payload` described.

    An unknown type or a damaged payload gives a plain :class:`MediaIntelligenceError` with the
    message, so nothing a trigger said is lost.

    :param payload: the plain-JSON description.
    """
    cls = _error_types().get(str(payload.get("type")), MediaIntelligenceError)
    try:
        return cls._from_payload(payload)
    except (KeyError, TypeError, ValueError):
        return MediaIntelligenceError(str(payload.get("message", payload)))
