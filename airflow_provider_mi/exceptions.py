"""
Exceptions raised by the Media Intelligence provider.

Following Airflow's current guidance for providers, these are specific exception types rather
than a bare ``AirflowException``: callers decide with one ``isinstance`` (or ``retryable``)
whether a failure may heal by itself. This module does not import Airflow.
"""

from __future__ import annotations


class MediaIntelligenceError(Exception):
    """Base class of every error raised by this provider."""

    #: Whether the same request may succeed if sent again later.
    retryable: bool = False


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
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after
        self.hint = hint
        super().__init__(self._describe())

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.status == 429 or self.status >= 500

    def _describe(self) -> str:
        """HTTP 429 and 5xx may heal by themselves; other errors do not."""
        text = f"Media Intelligence API answered HTTP {self.status}"
        if self.code is not None:
            text += f" (code {self.code})"
        sentences = [part.rstrip(". ") for part in (self.message, self.details, self.hint) if part]
        if sentences:
            text += ": " + ". ".join(sentences) + "."
        return text


class MediaIntelligenceAuthenticationError(MediaIntelligenceApiError):
    """The gateway rejected the credentials, the signature or the timestamp (HTTP 401)."""


class MediaIntelligenceResponseError(MediaIntelligenceError):
    """
    The API answered HTTP 2xx with a body this provider cannot read.

    :param problem: what is wrong with the body.
    :param retryable: whether sending the request again may help (e.g. a truncated body).
    """

    def __init__(self, problem: str, *, retryable: bool) -> None:
        self.retryable = retryable
        super().__init__(f"Media Intelligence API sent an unreadable response: {problem}")
