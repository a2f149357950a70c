"""Which proxy and which CA bundle: the connection's extras, else the environment as requests reads it."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from airflow_provider_mi.core.transport import Transport, validate_ca_bundle, validate_proxy_url
from airflow_provider_mi.exceptions import InvalidParameterError
from local_network import clear_network_environment

API = "https://mi.apigw.ntruss.com/api/v1/x"
STORAGE = "https://kr.object.ncloudstorage.com/bucket/key?sig=1"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_network_environment(monkeypatch)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)  # urllib ignores HTTP_PROXY under CGI


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def decide(proxy_url: str | None = None, ca_bundle_path: str | None = None, verify: bool = True) -> Transport:
    return Transport.from_extras(proxy_url=proxy_url, ca_bundle_path=ca_bundle_path, verify=verify)


# --- which proxy ----------------------------------------------------------------------------------


def test_no_proxy_anywhere_means_direct():
    assert decide().proxy_for(API) is None


def test_the_extra_is_used_for_every_url_whatever_no_proxy_says(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "*")
    transport = decide("http://extra-proxy:8080")
    assert transport.proxy_for(API) == transport.proxy_for(STORAGE) == "http://extra-proxy:8080"


@pytest.mark.parametrize(
    ("variables", "url", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:1"}, API, "http://p:1"),
        ({"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:1"}, API, "http://lower:1"),
        ({"HTTP_PROXY": "http://p:1"}, API, None),  # only for http:// URLs
        ({"HTTP_PROXY": "http://p:1"}, "http://127.0.0.1:8080/x", "http://p:1"),
        ({"ALL_PROXY": "http://all:1"}, API, "http://all:1"),
        ({"HTTPS_PROXY": "p.example:3128"}, API, "http://p.example:3128"),  # requests reads it so
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "mi.apigw.ntruss.com"}, API, None),
        ({"HTTPS_PROXY": "http://p:1", "no_proxy": ".ntruss.com"}, API, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".ntruss.com"}, STORAGE, "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "127.0.0.0/8"}, "https://127.0.0.1:8443/x", None),
    ],
)
def test_the_environment_as_requests_reads_it(monkeypatch, variables, url, expected):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert decide().proxy_for(url) == expected


def test_the_environment_is_read_once(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://p:1")
    transport = decide()
    monkeypatch.setenv("HTTPS_PROXY", "http://changed:1")
    assert transport.proxy_for(API) == "http://p:1"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("proxy.example.com:3128", "has no scheme"),
        ("socks5://proxy.example.com:1080", "uses the scheme 'socks5'"),
        ("https://proxy.example.com:3128", "uses the scheme 'https'"),
        ("http://:3128", "names no host"),
        ("http://proxy.example.com:3128/path", "has a path or query"),
        ("http://proxy.example.com:3128?x=1", "has a path or query"),
        ("http://proxy.example.com:99999", "not a valid URL"),
    ],
)
def test_bad_proxy_urls_are_refused_with_the_fix(value, problem):
    with pytest.raises(InvalidParameterError) as info:
        validate_proxy_url(value, "Connection extra 'proxy_url'")
    message = str(info.value)
    assert message.startswith(f"Connection extra 'proxy_url' is {value!r}, ")
    assert problem in message
    assert "http://proxy.example.com:3128" in message  # what to give instead


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("socks5://me:hunter2-secret@proxy:1080", "me:***@proxy:1080"),
        ("http://me:hunter2-secret@proxy:99999", "me:***@proxy:99999"),
        ("http://me:hunter2-secret@[::1:3128", "***@[::1:3128"),  # unparsable
    ],
)
def test_a_refused_proxy_url_never_shows_its_password(value, shown):
    with pytest.raises(InvalidParameterError) as info:
        validate_proxy_url(value, "Connection extra 'proxy_url'")
    assert "hunter2-secret" not in str(info.value)
    assert shown in str(info.value)


def test_a_bad_environment_proxy_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://me:hunter2-secret@proxy:1080")
    with pytest.raises(
        InvalidParameterError, match=r"Environment variable HTTPS_PROXY \(or https_proxy\)"
    ) as info:
        decide()
    assert "hunter2-secret" not in str(info.value)


def test_proxy_passwords_are_secrets_kept_out_of_repr(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://env:env-pa55word@env-proxy:1")
    transport = decide("http://me:p%40ss-w0rd@proxy:3128")
    assert transport.secrets() == ["env-pa55word", "p%40ss-w0rd", "p@ss-w0rd"]
    for secret in transport.secrets():
        assert secret not in repr(transport)


# --- which CA bundle ------------------------------------------------------------------------------


def test_certifi_by_default():
    transport = decide()
    assert transport.requests_verify is True
    assert isinstance(transport.ssl_context(), ssl.SSLContext)


def test_the_extra_wins_over_the_environment(monkeypatch, pem, tmp_path):
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    assert decide(ca_bundle_path=pem).requests_verify == pem


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (["SSL_CERT_FILE"], "SSL_CERT_FILE"),
        (["CURL_CA_BUNDLE", "SSL_CERT_FILE"], "CURL_CA_BUNDLE"),
        (["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"], "REQUESTS_CA_BUNDLE"),
    ],
)
def test_the_environment_in_requests_order_then_ssl_cert_file(monkeypatch, tmp_path, variables, expected):
    for name in variables:
        path = tmp_path / f"{name}.pem"
        trustme.CA().cert_pem.write_to_path(str(path))
        monkeypatch.setenv(name, str(path))
    assert decide().requests_verify == str(tmp_path / f"{expected}.pem")


def test_the_ssl_context_trusts_the_bundle_only(pem):
    context = decide(ca_bundle_path=pem).ssl_context()
    assert isinstance(context, ssl.SSLContext)
    assert len(context.get_ca_certs()) == 1


def test_verify_false_ignores_the_environment_bundle(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    transport = decide(verify=False)
    assert transport.requests_verify is False
    assert transport.ssl_context() is False


def test_a_ca_bundle_with_verify_false_is_contradictory(pem):
    with pytest.raises(InvalidParameterError) as info:
        decide(ca_bundle_path=pem, verify=False)
    message = str(info.value)
    assert "'ca_bundle_path' and 'verify_ssl' contradict each other" in message
    assert "Remove ca_bundle_path, or set verify_ssl to true" in message


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda tmp: tmp / "missing.pem", "cannot be read (no such file or directory)"),
        (lambda tmp: tmp, "cannot be read (is a directory)"),
        (lambda tmp: _write(tmp / "key.txt", "not a certificate\n"), "holds no readable PEM certificate"),
        (
            lambda tmp: _write(
                tmp / "broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            ),
            "holds no readable PEM certificate",
        ),
    ],
)
def test_bad_ca_bundles_are_refused_with_the_fix(tmp_path, make, problem):
    path = str(make(tmp_path))
    with pytest.raises(InvalidParameterError) as info:
        validate_ca_bundle(path, "Connection extra 'ca_bundle_path'")
    message = str(info.value)
    assert message.startswith(f"Connection extra 'ca_bundle_path' is {path!r}, which {problem}")
    assert "Give the path of a PEM file" in message


def test_a_bad_environment_bundle_is_refused_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(InvalidParameterError, match="Environment variable SSL_CERT_FILE is"):
        decide()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
