"""
Which proxy and which CA certificates a request uses, decided once for both HTTP clients.

The connection's extras win: ``proxy_url`` is used for every request of the connection (the API
and the presigned upload URLs alike; ``NO_PROXY`` does not apply to it), ``ca_bundle_path`` is the
only CA trusted. Else the environment, read as requests reads it: ``https_proxy``, ``http_proxy``
and ``all_proxy`` (lower case first, then upper case) unless ``no_proxy``/``NO_PROXY`` matches the
host, and the first of ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` and ``SSL_CERT_FILE`` that is
set; with none, certifi's bundle (requests' default) for both clients.
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy, should_bypass_proxies

from airflow_provider_mi.exceptions import InvalidParameterError

#: Environment variables naming the CA certificates to trust, the first set wins.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
#: The proxy variables read (by their lower-case key in ``urllib.request.getproxies``).
_PROXY_KEYS = ("https", "http", "all")
_PROXY_EXAMPLE = "http://proxy.example.com:3128"


def _masked(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparsable: hide all that may be credentials
        return f"***@{url.rpartition('@')[2]}" if "@" in url else url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def validate_proxy_url(value: str, source: str) -> str:
    """
    Return a proxy URL checked: ``http://[user:password@]host[:port]``.

    :param value: the proxy URL.
    :param source: where it comes from, named in errors, e.g. ``Connection extra 'proxy_url'``.
    """
    url = value.strip()
    shown = _masked(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what checks it
    except ValueError as err:
        raise InvalidParameterError(
            f"{source} is {shown!r}, not a valid URL ({_masked(str(err))}). Give a proxy URL such as "
            f"{_PROXY_EXAMPLE!r}."
        ) from None
    if parts.scheme != "http":
        problem = "has no scheme" if "://" not in url else f"uses the scheme {parts.scheme!r}"
        raise InvalidParameterError(
            f"{source} is {shown!r}, which {problem}. Give an http:// proxy URL such as {_PROXY_EXAMPLE!r} "
            "(it tunnels https requests too; https:// and SOCKS proxies are not supported)."
        )
    if not parts.hostname:
        raise InvalidParameterError(
            f"{source} is {shown!r}, which names no host. Give a proxy URL such as {_PROXY_EXAMPLE!r}."
        )
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise InvalidParameterError(
            f"{source} is {shown!r}, which has a path or query. Give only scheme, optional "
            f"user:password@, host and port, e.g. {_PROXY_EXAMPLE!r}."
        )
    return url


def validate_ca_bundle(path: str, source: str) -> str:
    """
    Return the path of a readable PEM file of CA certificates, checked by loading it.

    :param path: the file's path (``~`` is expanded).
    :param source: where it comes from, named in errors, e.g. ``Connection extra 'ca_bundle_path'``.
    """
    expanded = os.path.expanduser(path.strip())
    try:
        ssl.create_default_context(cafile=expanded)
    except ssl.SSLError:
        problem = "holds no readable PEM certificate (-----BEGIN CERTIFICATE-----)"
    except OSError as err:
        problem = f"cannot be read ({(err.strerror or type(err).__name__).lower()})"
    else:
        return expanded
    raise InvalidParameterError(
        f"{source} is {path!r}, which {problem}. Give the path of a PEM file of the CA certificates to "
        "trust, readable by Airflow, e.g. /etc/ssl/certs/ca-certificates.crt."
    )


@dataclass(frozen=True)
class Transport:
    """
    How one connection's requests travel: through which proxy, trusting which CA certificates.

    :param verify: whether to verify servers' TLS certificates.
    :param ca_bundle: the PEM file of the CA certificates to trust; ``None``: certifi's bundle.
    :param proxy_url: the proxy of every request (the connection's extra); ``None``: the environment's.
    :param environ_proxies: the environment's proxies by scheme (``https``, ``http``, ``all``).
    """

    verify: bool = True
    ca_bundle: str | None = None
    proxy_url: str | None = field(default=None, repr=False)
    environ_proxies: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_extras(cls, *, proxy_url: str | None, ca_bundle_path: str | None, verify: bool) -> Transport:
        """
        Decide from the connection's extras, then the environment; refuse what cannot work.

        :param proxy_url: the ``proxy_url`` extra.
        :param ca_bundle_path: the ``ca_bundle_path`` extra.
        :param verify: the ``verify_ssl`` extra.
        """
        if ca_bundle_path and not verify:
            raise InvalidParameterError(
                "Connection extras 'ca_bundle_path' and 'verify_ssl' contradict each other: a CA bundle is "
                "only used to verify certificates, and verify_ssl is false. Remove ca_bundle_path, or set "
                "verify_ssl to true."
            )
        environ = urllib.request.getproxies()  # what requests reads: lower case first, then upper
        environ_proxies = {
            key: validate_proxy_url(
                # requests reads a proxy without a scheme as http://; so do we.
                value if "://" in value else f"http://{value}",
                f"Environment variable {key.upper()}_PROXY (or {key}_proxy)",
            )
            for key, value in environ.items()
            if key in _PROXY_KEYS and value.strip()
        }
        ca_bundle = None
        if ca_bundle_path:
            ca_bundle = validate_ca_bundle(ca_bundle_path, "Connection extra 'ca_bundle_path'")
        elif verify:
            variable = next((name for name in CA_BUNDLE_VARIABLES if os.environ.get(name)), None)
            if variable is not None:
                ca_bundle = validate_ca_bundle(os.environ[variable], f"Environment variable {variable}")
        return cls(
            verify=verify,
            ca_bundle=ca_bundle,
            proxy_url=validate_proxy_url(proxy_url, "Connection extra 'proxy_url'") if proxy_url else None,
            environ_proxies=environ_proxies,
        )

    def proxy_for(self, url: str) -> str | None:
        """
        Return the proxy to send a request for ``url`` through, or ``None`` to go direct.

        :param url: the request's URL.
        """
        if self.proxy_url:
            return self.proxy_url
        # NO_PROXY is read from the environment, as requests does: handing it over instead would make
        # requests set it in os.environ for the call, which threads must not do.
        if not self.environ_proxies or should_bypass_proxies(url, no_proxy=None):
            return None
        return select_proxy(url, dict(self.environ_proxies))

    @property
    def requests_verify(self) -> bool | str:
        """The ``verify`` argument of requests."""
        return self.ca_bundle or self.verify

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The ``ssl`` argument of aiohttp: the same trust as :attr:`requests_verify`."""
        if not self.verify:
            return False
        return ssl.create_default_context(cafile=self.ca_bundle or DEFAULT_CA_BUNDLE_PATH)

    def secrets(self) -> list[str]:
        """The proxy passwords, to hide from logs."""
        passwords = {
            urlsplit(url).password for url in (self.proxy_url, *self.environ_proxies.values()) if url
        }
        # Both as written in the URL and percent-decoded, as the proxy receives it.
        return sorted({form for password in passwords if password for form in (password, unquote(password))})
