"""
Scheduled on new persons: runs whenever ``example_mi_sync_persons`` has updated the asset
``ncp-mi://demo-workspace/persons``, and reads what changed from the asset event's extra.

The sync puts ``{"workspace", "persons", "created", "attached", "unchanged", "failed", "changed":
{name: person id}}`` on its event; this DAG reads each changed person back from the workspace. Run
by hand (``airflow dags test``, as ``scripts/demo`` does) there is no triggering event: it says so
and lists the workspace's persons instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Asset, task

from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

# [START howto_asset_mi_consumer]
#: The asset the sync produces (a Dataset on Airflow 2).
PERSONS = Asset("ncp-mi://demo-workspace/persons")


def triggering_extras(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The extra of each event that triggered the run (Airflow 3: assets; Airflow 2: datasets)."""
    events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
    return [dict(event.extra or {}) for listed in events.values() for event in listed]


# [END howto_asset_mi_consumer]


with DAG(
    dag_id="example_mi_new_persons",
    schedule=[PERSONS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "ncp-media-intelligence"],
) as dag:
    # [START howto_hook_mi_persons]
    @task
    def read_new_persons(**context: Any) -> dict[str, str]:
        """Read back each person the sync created or gave photos; return ``{name: person id}``."""
        extras = triggering_extras(context)
        hook = MediaIntelligenceHook()
        if not extras:
            print("No triggering asset event (a manual run): listing the workspace's persons instead.")
            persons = list(hook.list_persons("demo-workspace"))
            print(f"demo-workspace holds {len(persons)} persons")
            return {}
        changed: dict[str, str] = {}
        for extra in extras:
            print(
                f"Asset event from workspace {extra.get('workspace')}: {extra.get('created', 0)} created, "
                f"{extra.get('attached', 0)} attached, {extra.get('unchanged', 0)} unchanged"
            )
            for name, person_id in (extra.get("changed") or {}).items():
                person = hook.get_person(extra["workspace"], person_id)
                print(f"  {name}: person {person_id}, {len(person.thumbnails)} thumbnails")
                changed[name] = person_id
        return changed

    read_new_persons()
    # [END howto_hook_mi_persons]
