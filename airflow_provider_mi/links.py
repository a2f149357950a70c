"""The operators' extra link: the workspace's page, as ``GET /api/v1/workspaces/{name}`` gives it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

#: The XCom key under which a task keeps its workspace's ``workspaceUrl``.
WORKSPACE_URL_XCOM_KEY = "mi_workspace_url"


class MediaIntelligenceWorkspaceLink(BaseOperatorLink):
    """
    *MI Workspace*: the page of the workspace a task worked in. The task reads the workspace's
    ``workspaceUrl`` once, after its work, and keeps it as the XCom ``mi_workspace_url``; the link
    reads that XCom (never the API), so it is empty for a task that did not get that far.
    """

    name = "MI Workspace"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        """Return the workspace URL the task instance kept, or ``""``."""
        url = XCom.get_value(ti_key=ti_key, key=WORKSPACE_URL_XCOM_KEY)
        return url if isinstance(url, str) else ""
