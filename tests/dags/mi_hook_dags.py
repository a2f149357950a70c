"""DAGs that drive MediaIntelligenceHook from a task, run by the tests through ``airflow dags test``."""

from __future__ import annotations

import io
from datetime import datetime

try:  # Airflow 3
    from airflow.sdk import dag, get_current_context, task
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task
    from airflow.operators.python import get_current_context

from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

DEFAULT_WORKSPACE = "dag-test-workspace"


def _png(side: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (40, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@dag(dag_id="mi_hook_upload", schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def mi_hook_upload():
    """Upload a generated 300x300 PNG to the workspace named in the run's conf (or a default)."""

    @task
    def upload() -> dict:
        conf = get_current_context()["dag_run"].conf or {}
        workspace = conf.get("workspace_name", DEFAULT_WORKSPACE)
        completion = MediaIntelligenceHook().upload_person_thumbnail(workspace, "dag-face.png", _png(300))
        if completion.status is None or completion.status.value != "COMPLETED":
            raise RuntimeError(f"upload did not complete: {completion.describe()}")
        return completion.to_api_dict()

    upload()


@dag(dag_id="mi_hook_rejected", schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def mi_hook_rejected():
    """Fail: a 100x100 PNG is refused before anything is sent."""

    @task
    def upload_too_small() -> None:
        MediaIntelligenceHook().upload_person_thumbnail(DEFAULT_WORKSPACE, "tiny.png", _png(100))

    upload_too_small()


mi_hook_upload()
mi_hook_rejected()
