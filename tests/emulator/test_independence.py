"""
The emulator judges apart from the client: its own rules and signature check, Pillow only when judging.
"""

from __future__ import annotations

import ast
import base64
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ncloud_server.api_client import ApiClient
from ncloud_server.configuration import Configuration

import airflow_provider_mi.emulator
from airflow_provider_mi.emulator.signature import authentication_failure, expected_digest

EMULATOR_DIR = Path(airflow_provider_mi.emulator.__file__).parent
NOW_MS = 1_700_000_000_000
# (method, URI, timestamp, access key, secret key, signature) as NCP's SDK (ncloud-server 1.1.3) signs them.
SDK_VECTORS = [
    (
        "POST",
        "/api/v1/workspaces/demo/person-thumbnail/uploads/complete",
        "1700000000000",
        "emulator-access-key",
        "emulator-secret-key",
        "sRtH/xw/67TXEvK4Mr9CTgH/y9ZhhFjg+Qg6uie5glg=",
    ),
    (
        "GET",
        "/api/v1/workspaces/demo/persons?page=2&size=50",
        "1600000000123",
        "ak",
        "sk",
        "1P2Jo1oMPmY4lb/yH3uqAbtAp3w02S755lNDJYXtuw8=",
    ),
    ("PUT", "/", "0000000000000", "키", "비밀-é", "EqSd57G9z/6nu9zv+90dClvQOi3xD0YxPsgcqnHZ4rY="),
]


def imported_modules(path: Path) -> set[str]:
    """The absolute names of the modules ``path`` imports (``from . import x`` resolved)."""
    package = "airflow_provider_mi.emulator"
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(EMULATOR_DIR.glob("*.py")), ids=lambda path: path.name)
def test_the_emulator_imports_nothing_of_the_provider_outside_itself(path):
    ours = {name for name in imported_modules(path) if name.split(".")[0] == "airflow_provider_mi"}
    foreign = sorted(name for name in ours if not name.startswith("airflow_provider_mi.emulator"))
    assert foreign == [], f"{path.name} imports the client's {foreign}: the emulator must keep its own rules"


def test_the_import_rule_sees_relative_and_absolute_imports(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("from ..core.images import check_image\nimport airflow_provider_mi.core.signing\n")
    assert imported_modules(module) == {
        "airflow_provider_mi.core.images.check_image",
        "airflow_provider_mi.core.signing",
    }


def run_without_pillow(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where ``import PIL`` fails as if Pillow were not installed."""
    blocker = (
        "import sys\nsys.modules['PIL'] = None  # makes every 'import PIL...' raise ModuleNotFoundError\n"
    )
    return subprocess.run(
        [sys.executable, "-c", blocker + textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_without_pillow_the_plugin_and_the_client_work_and_the_emulator_says_how_to_install_it():
    result = run_without_pillow(
        """
        import airflow_provider_mi.emulator.pytest_plugin
        from airflow_provider_mi.core.images import check_image
        from airflow_provider_mi.emulator import MediaIntelligenceEmulator
        from airflow_provider_mi.emulator.state import valid_thumbnail
        import airflow_provider_mi.hooks.media_intelligence

        assert check_image(valid_thumbnail()).problem is None
        assert check_image(valid_thumbnail()[:-40]).problem == "FILE_FORMAT_NOT_SUPPORT"
        try:
            MediaIntelligenceEmulator().start()
        except ModuleNotFoundError as err:
            print(err)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "decodes uploaded images with Pillow, which is not installed" in result.stdout
    assert 'pip install "airflow-provider-mi[emulator]"' in result.stdout


def test_without_pillow_the_command_line_says_how_to_install_it():
    result = run_without_pillow(
        "import runpy; runpy.run_module('airflow_provider_mi.emulator', run_name='__main__')"
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "mi-emulator: The Media Intelligence emulator decodes uploaded images with Pillow"
    )
    assert 'pip install "airflow-provider-mi[emulator]"' in result.stderr


@pytest.mark.parametrize(("method", "uri", "timestamp", "access_key", "secret_key", "signature"), SDK_VECTORS)
def test_the_gateway_accepts_the_sdks_signatures(method, uri, timestamp, access_key, secret_key, signature):
    assert (
        base64.b64encode(expected_digest(method, uri, timestamp, access_key, secret_key)).decode()
        == signature
    )
    headers = {
        "x-ncp-apigw-timestamp": timestamp,
        "x-ncp-iam-access-key": access_key,
        "x-ncp-apigw-signature-v2": signature,
    }
    now = int(timestamp) / 1000
    assert authentication_failure(method, uri, headers, {access_key: secret_key}, now) is None
    assert (
        authentication_failure(method, uri + "x", headers, {access_key: secret_key}, now)
        == "Signature is invalid."
    )


_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=20
)
_segments = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="/?#&="),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    segments=st.lists(_segments, min_size=2, max_size=5),
    querys=st.lists(st.tuples(_segments, _segments), max_size=3),
    skew_ms=st.integers(min_value=-299_999, max_value=299_999),
    access_key=_texts,
    secret_key=_texts,
)
def test_the_gateway_accepts_what_the_sdk_signs_and_nothing_else(
    method, segments, querys, skew_ms, access_key, secret_key
):
    # The SDK prefixes the path of its host to the URI it is given: the first segment goes there.
    client = ApiClient(Configuration())
    client.configuration.host = f"https://mi.apigw.ntruss.com/{segments[0]}"
    client.configuration.access_key, client.configuration.secret_key = access_key, secret_key
    rest = "/" + "/".join(segments[1:])
    timestamp = str(NOW_MS + skew_ms)
    signature = client.make_signature(method, rest, querys, timestamp).decode("ascii")
    uri = f"/{segments[0]}{rest}" + (
        "?" + "&".join(f"{key}={value}" for key, value in querys) if querys else ""
    )
    headers = {
        "x-ncp-apigw-timestamp": timestamp,
        "x-ncp-iam-access-key": access_key,
        "x-ncp-apigw-signature-v2": signature,
    }
    credentials = {access_key: secret_key}
    assert authentication_failure(method, uri, headers, credentials, NOW_MS / 1000) is None
    assert authentication_failure(method, uri, headers, {access_key: secret_key + "x"}, NOW_MS / 1000) == (
        "Signature is invalid."
    )
    stale = {**headers, "x-ncp-apigw-timestamp": str(NOW_MS - 300_000)}
    assert authentication_failure(method, uri, stale, credentials, NOW_MS / 1000) == "Timestamp is expired."


@pytest.mark.parametrize("signature", ["not base64!", "c1J0SA", "한글", ""])
def test_a_signature_that_is_not_base64_is_invalid_not_an_error(signature):
    headers = {
        "x-ncp-apigw-timestamp": "1700000000000",
        "x-ncp-iam-access-key": "ak",
        "x-ncp-apigw-signature-v2": signature,
    }
    expected = "Signature headers are missing." if not signature else "Signature is invalid."
    assert authentication_failure("GET", "/", headers, {"ak": "sk"}, NOW_MS / 1000) == expected
