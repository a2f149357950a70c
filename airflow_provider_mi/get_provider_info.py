"""Provider metadata read by Airflow's providers manager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_mi import __version__
from airflow_provider_mi.core.settings import CONN_TYPE, DEFAULT_BASE_URL, EXTRA_FIELDS

INTEGRATION = "NCP Media Intelligence"
HOOK_CLASS = "airflow_provider_mi.hooks.media_intelligence.MediaIntelligenceHook"
WORKSPACE_LINK_CLASS = "airflow_provider_mi.links.MediaIntelligenceWorkspaceLink"

#: Standard connection fields: which to hide, how to label them, what to show while empty.
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden_fields": ["schema", "port"],
    "relabeling": {"host": "API base URL", "login": "Access key ID", "password": "Secret key"},
    "placeholders": {
        "host": f"{DEFAULT_BASE_URL} (empty: the public API)",
        "login": "NCP access key ID",
        "password": "NCP secret key",
    },
}


def _conn_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, extra in EXTRA_FIELDS.items():
        schema: dict[str, Any] = {"type": [extra.json_type, "null"]}
        if extra.default is not None:
            schema["default"] = extra.default
        fields[name] = {"label": extra.label, "description": extra.description, "schema": schema}
    return fields


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata: integration, modules, connection type and its form."""
    modules = {
        kind: [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"airflow_provider_mi.{kind}.{module}" for module in names],
            }
        ]
        for kind, names in (
            ("hooks", ["media_intelligence"]),
            ("operators", ["person_thumbnail", "bulk_upload", "persons", "person_sync"]),
            ("sensors", ["person_thumbnail"]),
            ("triggers", ["person_thumbnail"]),
        )
    }
    return {
        "package-name": "airflow-provider-mi",
        "name": INTEGRATION,
        "description": "Persons and their thumbnails in NAVER Cloud Platform Media Intelligence workspaces.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://api.ncloud-docs.com/docs/en/media-intelligence",
                "tags": ["service"],
            }
        ],
        **modules,
        "extra-links": [WORKSPACE_LINK_CLASS],
        "connection-types": [
            {
                "hook-class-name": HOOK_CLASS,
                "hook-name": INTEGRATION,
                "connection-type": CONN_TYPE,
                "ui-field-behaviour": {
                    key.replace("_", "-"): value for key, value in UI_FIELD_BEHAVIOUR.items()
                },
                "conn-fields": _conn_fields(),
            }
        ],
    }
