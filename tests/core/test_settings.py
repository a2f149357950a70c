"""Connection fields to validated settings: base URL, credentials and extras."""

from __future__ import annotations

import pytest

from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD, PERSONS, PRESIGNED_URL, RateLimit
from airflow_provider_mi.core.retry import RetryPolicy
from airflow_provider_mi.core.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT_SECONDS,
    EXTRA_FIELDS,
    ConnectionSettings,
    parse_base_url,
)
from airflow_provider_mi.exceptions import InvalidParameterError

SECRET = "s3cr3t-Zq9!never-shown"


def settings_from(**fields) -> ConnectionSettings:
    fields.setdefault("login", "my-access-key")
    fields.setdefault("password", SECRET)
    return ConnectionSettings.from_connection_fields(**fields)


def rejected(**fields) -> str:
    with pytest.raises(InvalidParameterError) as info:
        settings_from(**fields)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert SECRET not in message
    return message


# --- base URL -------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", [None, "", "   "])
def test_empty_host_means_the_public_api(host):
    assert parse_base_url(host) == DEFAULT_BASE_URL == "https://mi.apigw.ntruss.com"


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("mi.apigw.ntruss.com", None, None, "https://mi.apigw.ntruss.com"),
        ("mi.apigw.ntruss.com", "https", None, "https://mi.apigw.ntruss.com"),
        ("maiu.apigw.ntruss.com", "HTTPS", 8443, "https://maiu.apigw.ntruss.com:8443"),
        ("https://mi.apigw.ntruss.com", None, None, "https://mi.apigw.ntruss.com"),
        ("https://mi.apigw.ntruss.com/", None, None, "https://mi.apigw.ntruss.com"),
        ("  https://MI.apigw.ntruss.com  ", None, None, "https://mi.apigw.ntruss.com"),
        ("https://mi.apigw.ntruss.com:8443", None, 8443, "https://mi.apigw.ntruss.com:8443"),
        ("127.0.0.1", "http", None, "http://127.0.0.1"),
        ("127.0.0.1", "http", 8080, "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080", None, None, "http://127.0.0.1:8080"),
        ("http://localhost:8080", None, None, "http://localhost:8080"),
        ("http://[::1]:8080", None, None, "http://[::1]:8080"),
        ("https://[2001:db8::1]", None, None, "https://[2001:db8::1]"),
    ],
)
def test_parse_base_url(host, schema, port, expected):
    assert parse_base_url(host, schema, port) == expected


@pytest.mark.parametrize(
    ("host", "schema"),
    [("http://mi.apigw.ntruss.com", None), ("mi.apigw.ntruss.com", "http"), ("http://10.0.0.5:8080", None)],
)
def test_plain_http_to_a_non_loopback_host_is_rejected(host, schema):
    with pytest.raises(InvalidParameterError, match="plain http to a non-loopback host") as info:
        parse_base_url(host, schema)
    assert "Use https://" in str(info.value)


@pytest.mark.parametrize(("host", "schema"), [("ftp://mi.apigw.ntruss.com", None), ("mi.example", "ws")])
def test_non_http_scheme_is_rejected(host, schema):
    with pytest.raises(InvalidParameterError, match="uses the scheme") as info:
        parse_base_url(host, schema)
    assert "Use https://" in str(info.value)


@pytest.mark.parametrize(
    "host",
    [
        "https://mi.apigw.ntruss.com/api/v1",
        "https://mi.apigw.ntruss.com?x=1",
        "https://mi.apigw.ntruss.com/#frag",
        "mi.apigw.ntruss.com/api",
    ],
)
def test_path_or_query_is_rejected(host):
    with pytest.raises(InvalidParameterError, match="has a path or query") as info:
        parse_base_url(host)
    assert "Give only scheme, host and port" in str(info.value)


def test_credentials_in_the_host_are_rejected():
    with pytest.raises(InvalidParameterError, match="with no credentials") as info:
        parse_base_url("https://user:pw@mi.apigw.ntruss.com")
    assert "pw@" in str(info.value)  # the host is echoed back so the user can find it


def test_port_conflict_is_rejected():
    with pytest.raises(InvalidParameterError, match="disagree"):
        parse_base_url("https://mi.apigw.ntruss.com:8443", port=9443)


@pytest.mark.parametrize(
    ("host", "port"), [("mi.apigw.ntruss.com", 70000), ("https://mi.apigw.ntruss.com:70000", None)]
)
def test_port_out_of_range(host, port):
    with pytest.raises(InvalidParameterError):
        parse_base_url(host, port=port)


@pytest.mark.parametrize(("schema", "port"), [("https", None), (None, 443)])
def test_empty_host_with_port_or_schema_is_rejected(schema, port):
    with pytest.raises(InvalidParameterError, match="Put the full base URL in the host field"):
        parse_base_url("", schema, port)


def test_port_zero_in_the_host_is_rejected():
    with pytest.raises(InvalidParameterError):
        parse_base_url("https://mi.apigw.ntruss.com:0")


# --- credentials ----------------------------------------------------------------------------------


def test_defaults():
    settings = settings_from()
    assert settings.access_key == "my-access-key"
    assert settings.secret_key == SECRET
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.timeout == DEFAULT_TIMEOUT_SECONDS
    assert settings.retry == RetryPolicy()
    assert settings.verify_ssl is True
    assert settings.workspace_name is None


def test_fields_are_passed_through():
    settings = settings_from(
        login="  ak  ", host="127.0.0.1", schema="http", port=8080, extras={"workspace_name": "demo-ws"}
    )
    assert settings.access_key == "ak"
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.workspace_name == "demo-ws"


@pytest.mark.parametrize("login", [None, "", "   "])
def test_missing_login(login):
    message = rejected(login=login, conn_id="mi_conn")
    assert "'mi_conn' has no access key" in message
    assert "login field" in message


@pytest.mark.parametrize("password", [None, ""])
def test_missing_password(password):
    message = rejected(password=password, conn_id="mi_conn")
    assert "'mi_conn' has no secret key" in message
    assert "password field" in message


@pytest.mark.parametrize("conn_fields", [{}, {"host": "http://127.0.0.1:9"}, {"extras": {"timeout": 5}}])
def test_repr_never_contains_the_secret(conn_fields):
    settings = settings_from(**conn_fields)
    for text in (repr(settings), str(settings), f"{settings!r}", repr([settings])):
        assert SECRET not in text
        assert "my-access-key" in text


# --- extras ---------------------------------------------------------------------------------------


def test_numeric_extras():
    settings = settings_from(
        extras={"timeout": "12.5", "max_attempts": 3, "retry_budget_seconds": 90, "verify_ssl": False}
    )
    assert settings.timeout == 12.5
    assert settings.retry.max_attempts == 3
    assert settings.retry.budget_seconds == 90.0
    assert settings.verify_ssl is False


def test_rate_limits_default_to_the_documented_limits():
    assert settings_from().rate_limits == {
        COMPLETE_UPLOAD: RateLimit(1000, 60.0),
        PRESIGNED_URL: RateLimit(50, 1.0),
        PERSONS: RateLimit(10, 1.0),  # undocumented: a conservative default
    }


def test_rate_limit_extras():
    extras = {
        "complete_calls_per_minute": "600",
        "presigned_url_calls_per_second": 5,
        "person_calls_per_second": 2,
    }
    assert settings_from(extras=extras).rate_limits == {
        COMPLETE_UPLOAD: RateLimit(600, 60.0),
        PRESIGNED_URL: RateLimit(5, 1.0),
        PERSONS: RateLimit(2, 1.0),
    }


def test_limiter_is_shared_by_settings_of_the_same_credentials_and_host():
    one, same = settings_from(host="http://127.0.0.1:1"), settings_from(host="http://127.0.0.1:1")
    other_key = settings_from(host="http://127.0.0.1:1", login="another-key")
    assert one.limiter(COMPLETE_UPLOAD) is same.limiter(COMPLETE_UPLOAD)
    assert one.limiter(COMPLETE_UPLOAD) is not other_key.limiter(COMPLETE_UPLOAD)
    assert one.limiter(COMPLETE_UPLOAD) is not one.limiter(PRESIGNED_URL)
    assert one.limiter(None) is None
    assert one.limiter("no-such-endpoint") is None


def test_prefixed_extras_from_older_ui_are_accepted():
    settings = settings_from(
        extras={
            "extra__ncp_media_intelligence__timeout": "7",
            "extra__ncp_media_intelligence__max_attempts": "2",
            "extra__ncp_media_intelligence__workspace_name": "my-ws",
        }
    )
    assert (settings.timeout, settings.retry.max_attempts, settings.workspace_name) == (7.0, 2, "my-ws")


@pytest.mark.parametrize(
    "extras", [{"timeout": None}, {"timeout": ""}, {"max_attempts": ""}, {"verify_ssl": ""}]
)
def test_empty_extras_mean_default(extras):
    settings = settings_from(extras=extras)
    assert settings.timeout == DEFAULT_TIMEOUT_SECONDS
    assert settings.retry.max_attempts == RetryPolicy.max_attempts
    assert settings.verify_ssl is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("timeout", "fast"),
        ("timeout", -1),
        ("timeout", 0),
        ("timeout", "0"),
        ("timeout", True),
        ("timeout", [5]),
        ("retry_budget_seconds", "-60"),
        ("retry_budget_seconds", False),
        ("max_attempts", 2.5),
        ("max_attempts", "2.5"),
        ("max_attempts", "three"),
        ("max_attempts", 0),
        ("max_attempts", True),
        ("complete_calls_per_minute", 0),
        ("complete_calls_per_minute", "1000.5"),
        ("presigned_url_calls_per_second", -50),
        ("presigned_url_calls_per_second", "fifty"),
    ],
)
def test_invalid_numeric_extras(name, value):
    message = rejected(extras={name: value})
    assert f"extra {name!r} is {value!r}" in message
    assert "positive" in message


@pytest.mark.parametrize(
    ("name", "value", "maximum"),
    [
        ("complete_calls_per_minute", 1_000_000_000, 100_000),
        ("complete_calls_per_minute", "100001", 100_000),
        ("presigned_url_calls_per_second", 5001, 5000),
        ("presigned_url_calls_per_second", "1e12", 5000),
    ],
)
def test_absurd_rate_limits_are_refused(name, value, maximum):
    message = rejected(extras={name: value})
    assert f"extra {name!r} is {value!r}, more than the maximum of {maximum}" in message
    assert f"set at most {maximum}" in message
    assert f"at most {maximum}" in EXTRA_FIELDS[name].description  # the form says so too


def test_the_maximum_rate_limits_are_accepted():
    extras = {
        "complete_calls_per_minute": 100_000,
        "presigned_url_calls_per_second": 5000,
        "person_calls_per_second": 1000,
    }
    assert settings_from(extras=extras).rate_limits == {
        COMPLETE_UPLOAD: RateLimit(100_000, 60.0),
        PRESIGNED_URL: RateLimit(5000, 1.0),
        PERSONS: RateLimit(1000, 1.0),
    }


@pytest.mark.parametrize(("name", "value"), [("timeout", "nan"), ("retry_budget_seconds", float("nan"))])
def test_nan_extras_are_rejected(name, value):
    rejected(extras={name: value})


def test_infinite_max_attempts_is_an_invalid_parameter():
    rejected(extras={"max_attempts": float("inf")})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("True", True),
        (" yes ", True),
        ("1", True),
        ("on", True),
        ("y", True),  # what Airflow 2's form sends for a ticked box
        (1, True),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("0", False),
        ("off", False),
        ("n", False),
        (0, False),
    ],
)
def test_verify_ssl_values(value, expected):
    assert settings_from(extras={"verify_ssl": value}).verify_ssl is expected


@pytest.mark.parametrize("value", ["maybe", "2", "nope"])
def test_invalid_verify_ssl(value):
    message = rejected(extras={"verify_ssl": value})
    assert "'verify_ssl'" in message
    assert "use true or false" in message


def test_unknown_extras_are_rejected_with_the_known_names():
    message = rejected(extras={"timout": 5, "region": "KR"}, conn_id="mi_conn")
    assert "'mi_conn' has unknown extras ['region', 'timout']" in message
    for name in EXTRA_FIELDS:
        assert repr(name) in message


def test_invalid_workspace_extra():
    message = rejected(extras={"workspace_name": "My Workspace"})
    assert message.startswith("workspace_name extra 'My Workspace' is not a valid workspace name")


def test_invalid_host_through_from_connection_fields():
    message = rejected(host="http://mi.apigw.ntruss.com")
    assert "plain http" in message


# --- proxy and CA bundle --------------------------------------------------------------------------

PROXY_PASSWORD = "pr0xy-secret-Zq"


@pytest.fixture
def no_network_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ca_pem(tmp_path) -> str:
    import trustme

    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return str(tmp_path / "ca.pem")


def test_proxy_and_ca_bundle_extras(no_network_environment, ca_pem):
    proxy = f"http://me:{PROXY_PASSWORD}@proxy.example.com:3128"
    settings = settings_from(extras={"proxy_url": f" {proxy} ", "ca_bundle_path": ca_pem})
    assert settings.transport.proxy_for("https://mi.apigw.ntruss.com/x") == proxy
    assert settings.transport.requests_verify == ca_pem
    assert settings.transport.secrets() == [PROXY_PASSWORD]
    for text in (repr(settings), str(settings)):
        assert PROXY_PASSWORD not in text
        assert SECRET not in text


@pytest.mark.parametrize("extras", [{}, {"proxy_url": ""}, {"ca_bundle_path": "  "}, {"proxy_url": None}])
def test_empty_proxy_and_ca_bundle_extras_mean_the_environment(no_network_environment, extras):
    settings = settings_from(extras=extras)
    assert settings.transport.proxy_for("https://mi.apigw.ntruss.com/x") is None
    assert settings.transport.requests_verify is True


@pytest.mark.parametrize(
    ("extras", "expected"),
    [
        ({"proxy_url": f"socks5://me:{PROXY_PASSWORD}@proxy:1080"}, "Connection extra 'proxy_url' is "),
        ({"proxy_url": "proxy.example.com:3128"}, "which has no scheme. Give an http:// proxy URL"),
        ({"proxy_url": 3128}, "Connection extra 'proxy_url' is 3128; it must be a string."),
        (
            {"ca_bundle_path": "/nonexistent/ca.pem"},
            "Connection extra 'ca_bundle_path' is '/nonexistent/ca.pem'",
        ),
        ({"ca_bundle_path": __file__}, "which holds no readable PEM certificate"),
        ({"ca_bundle_path": "CA", "verify_ssl": False}, "'ca_bundle_path' and 'verify_ssl' contradict"),
    ],
)
def test_invalid_proxy_and_ca_bundle_extras(no_network_environment, extras, expected):
    message = rejected(extras=extras)
    assert expected in message
    assert PROXY_PASSWORD not in message


def test_the_proxy_and_ca_bundle_extras_are_in_the_form():
    assert EXTRA_FIELDS["proxy_url"].json_type == EXTRA_FIELDS["ca_bundle_path"].json_type == "string"
    assert "HTTPS_PROXY" in EXTRA_FIELDS["proxy_url"].description
    assert "NO_PROXY" in EXTRA_FIELDS["proxy_url"].description
    assert "REQUESTS_CA_BUNDLE" in EXTRA_FIELDS["ca_bundle_path"].description


# --- default workspace ----------------------------------------------------------------------------


def test_resolve_workspace_prefers_the_argument_and_validates_it():
    settings = settings_from(extras={"workspace_name": "default-ws"})
    assert settings.resolve_workspace("other-ws") == "other-ws"
    assert settings.resolve_workspace(None) == "default-ws"
    with pytest.raises(InvalidParameterError, match="workspace_name 'Other WS' is not a valid"):
        settings.resolve_workspace("Other WS")


def test_resolve_workspace_without_any_says_where_to_set_it():
    with pytest.raises(InvalidParameterError) as info:
        settings_from().resolve_workspace(None, conn_id="mi_conn")
    message = str(info.value)
    assert "workspace_name is not set" in message
    assert "'workspace_name' extra of connection 'mi_conn'" in message
