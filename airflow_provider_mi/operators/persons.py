"""
Operators for the person side: register a person (deduplicated), add and remove its thumbnails,
merge persons, delete a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, Context

from airflow_provider_mi import lineage
from airflow_provider_mi.core import person_rules as rules
from airflow_provider_mi.core.persons import Person, PersonMatch
from airflow_provider_mi.core.validation import validate_choice
from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook
from airflow_provider_mi.operators.base import (
    MediaIntelligenceBaseOperator,
    failing_without_retries_on_bad_input,
    failing_without_retries_on_refusal,
)

#: What to do when the workspace already holds the person (a face match, or the name taken).
ON_MATCH = ("attach", "fail", "create")


def find_by_name(hook: MediaIntelligenceHook, workspace: str, name: str) -> Person | None:
    """Return the workspace's person of exactly this name (names are unique), or ``None``."""
    # The API's name filter matches part of a name, needs 2 characters and refuses ;, | and `:
    # filter when the name allows it, and compare exactly here.
    filterable = len(name) >= 2 and not rules.NAME_FILTER_FORBIDDEN & set(name)
    candidates = hook.list_persons(workspace, name=name if filterable else None)
    return next((person for person in candidates if person.name == name), None)


def best_face_match(
    hook: MediaIntelligenceHook, workspace: str, thumbnail_keys: Sequence[str], score_threshold: int
) -> PersonMatch | None:
    """Return the registered person that best matches any of the thumbnails, at the threshold or above."""
    matches = [
        match
        for key in thumbnail_keys
        for match in hook.compare_thumbnail(workspace, key, person_count=1, score_threshold=score_threshold)
    ]
    return max(matches, key=lambda match: match.score or 0.0, default=None)


class MediaIntelligenceRegisterPersonOperator(MediaIntelligenceBaseOperator):
    """
    Register a person from uploaded thumbnails, unless the workspace already holds them.

    Before creating anything it compares each thumbnail with the registered persons
    (``recommend-by-thumbnail``) and looks the name up. When an existing person scores at or above
    ``score_threshold``, or already has the name, ``on_match`` decides: ``attach`` adds the new
    thumbnails to that person (those it has already are left alone), ``fail`` fails the task
    without retries naming the person, ``create`` registers a new person all the same (a name
    already taken still fails: names are unique in a workspace). Returns
    ``{"personId", "action": "created" | "attached" | "unchanged", "created", "matched",
    "matchedBy": "face" | "name" | None, "score"}``. Bad values fail before any request, and the
    API's refusals (HTTP 400, e.g. an expired thumbnail key), without the task's retries: running
    again with the same values cannot help.

    :param thumbnail_keys: keys of completed uploads, the first the primary thumbnail. (templated)
    :param name: the person's name, 1 to 50 characters; ``None`` registers an anonymous person.
        (templated)
    :param description: up to 700 characters. (templated)
    :param on_match: ``attach`` (default), ``fail`` or ``create``.
    :param score_threshold: the lowest score, 80 to 100, that counts as the same person.
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    """

    template_fields: Sequence[str] = ("thumbnail_keys", "name", "description", "workspace_name", "mi_conn_id")
    lineage_reads = (lineage.PERSON_THUMBNAILS,)
    lineage_writes = (lineage.PERSONS,)

    def __init__(
        self,
        *,
        thumbnail_keys: Sequence[str],
        name: str | None = None,
        description: str | None = None,
        on_match: str = "attach",
        score_threshold: int = 90,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        validate_choice(on_match, "on_match", ON_MATCH)
        self.thumbnail_keys = thumbnail_keys
        self.name = name
        self.description = description
        self.on_match = on_match
        self.score_threshold = rules.validate_in_range(
            score_threshold, "score_threshold", rules.SCORE_THRESHOLD_RANGE
        )

    @failing_without_retries_on_refusal()
    def execute(self, context: Context) -> dict[str, Any]:
        """Find the person the thumbnails show, then attach to it, fail, or create one."""
        hook = self.hook
        with failing_without_retries_on_bad_input():
            keys = [item["thumbnailKey"] for item in rules.thumbnails_body(self.thumbnail_keys)]
            name = None if self.name is None else rules.validate_person_name(self.name)
            if self.description is not None:
                rules.validate_description(self.description)
            workspace = hook.workspace(self.workspace_name)
            by_name = find_by_name(hook, workspace, name) if name else None
            by_face = best_face_match(hook, workspace, keys, self.score_threshold)
        if by_name is None and (by_face is None or self.on_match == "create"):
            return self._create(hook, workspace, keys, name)
        matched_by = "name" if by_name is not None else "face"
        person_id = by_name.person_id if by_name is not None else by_face.person_id  # type: ignore[union-attr]
        score = by_face.score if by_face is not None and by_face.person_id == person_id else None
        described = f"person {person_id}" + (
            f" (score {score:g})" if score is not None else f" named {name!r}"
        )
        if self.on_match == "fail" or (self.on_match == "create" and by_name is not None):
            why = "on_match='fail'" if self.on_match == "fail" else "the name is taken, and names are unique"
            raise AirflowFailException(
                f"The workspace already holds {described}; not registering another ({why}). Choose "
                "on_match='attach' to add the thumbnails to it, or give another name."
            )
        return self._attach(hook, workspace, keys, person_id, matched_by, score, described)

    def _create(
        self, hook: MediaIntelligenceHook, workspace: str, keys: list[str], name: str | None
    ) -> dict[str, Any]:
        person = hook.create_person(workspace, keys, name=name, description=self.description)
        self.log.info(
            "Registered person %s (%s) with %d thumbnails", person.person_id, name or "anonymous", len(keys)
        )
        return _result(person.person_id, "created", None, None)

    def _attach(
        self,
        hook: MediaIntelligenceHook,
        workspace: str,
        keys: list[str],
        person_id: str,
        matched_by: str,
        score: float | None,
        described: str,
    ) -> dict[str, Any]:
        held = {thumbnail.thumbnail_key for thumbnail in hook.get_person(workspace, person_id).thumbnails}
        new = [key for key in keys if key not in held]
        if not new:
            self.log.info("The workspace already holds %s with these thumbnails: nothing to do", described)
            return _result(person_id, "unchanged", matched_by, score)
        hook.add_person_thumbnails(workspace, person_id, new)
        self.log.info("Added %d thumbnails to %s, matched by %s", len(new), described, matched_by)
        return _result(person_id, "attached", matched_by, score)

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The person and what became of it."""
        return {"personIds": [result["personId"]], "action": result["action"]}


def _result(person_id: str, action: str, matched_by: str | None, score: float | None) -> dict[str, Any]:
    return {
        "personId": person_id,
        "action": action,
        "created": action == "created",
        "matched": matched_by is not None,
        "matchedBy": matched_by,
        "score": score,
    }


def find_persons(hook: MediaIntelligenceHook, workspace: str, person_ids: Sequence[str]) -> dict[str, Person]:
    """
    Return the persons of these ids (at most 50) that exist, each as ``get_person`` describes it.

    The API documents no error for an unknown person, so one search by id tells which exist.
    """
    page = hook.search_persons(workspace, person_ids=person_ids, page_size=rules.PAGE_SIZES["search"][0])
    return {
        person.person_id: hook.get_person(workspace, person.person_id)
        for person in page.items
        if person.person_id in person_ids
    }


def require_persons(
    hook: MediaIntelligenceHook, workspace: str, person_ids: Sequence[str], undone: str
) -> list[Person]:
    """Return the persons of these ids in order, or fail without retries naming those not found."""
    found = find_persons(hook, workspace, person_ids)
    if missing := [person_id for person_id in person_ids if person_id not in found]:
        raise AirflowFailException(
            f"No person {', '.join(missing)} in workspace {workspace!r} (merged and deleted persons are not "
            f"found any more): {undone}."
        )
    return [found[person_id] for person_id in person_ids]


def described(person: Person) -> str:
    """``1001 ('Ada', 2 thumbnails)``: a person in a log line or a message."""
    name = "anonymous" if person.name is None else repr(person.name)
    return f"{person.person_id} ({name}, {len(person.thumbnails)} thumbnails)"


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(f"{field} is {value!r}; give True or False.")
    return value


class MediaIntelligenceAddPersonThumbnailsOperator(MediaIntelligenceBaseOperator):
    """
    Add uploaded thumbnails to a person. Keys the person holds already are left alone, so a rerun
    writes nothing. Returns ``{"personId", "action": "attached" | "unchanged", "added": [keys],
    "addedThumbnailIds": [ids], "thumbnailCount"}``.

    :param person_id: the person. (templated)
    :param thumbnail_keys: keys of completed uploads. (templated)
    :param primary_thumbnail_key: one of them to make the primary thumbnail; ``None`` keeps the
        person's. (templated)
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    """

    template_fields: Sequence[str] = (
        "person_id",
        "thumbnail_keys",
        "primary_thumbnail_key",
        "workspace_name",
        "mi_conn_id",
    )
    lineage_reads = (lineage.PERSON_THUMBNAILS,)
    lineage_writes = (lineage.PERSONS,)

    def __init__(
        self,
        *,
        person_id: str | int,
        thumbnail_keys: Sequence[str],
        primary_thumbnail_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.person_id = person_id
        self.thumbnail_keys = thumbnail_keys
        self.primary_thumbnail_key = primary_thumbnail_key

    @failing_without_retries_on_refusal()
    def execute(self, context: Context) -> dict[str, Any]:
        """Read the person, then add the thumbnails it does not hold yet."""
        hook = self.hook
        primary = self.primary_thumbnail_key
        with failing_without_retries_on_bad_input():
            person_id = rules.validate_id(self.person_id, "person_id")
            keys = [item["thumbnailKey"] for item in rules.thumbnails_body(self.thumbnail_keys, primary)]
            workspace = hook.workspace(self.workspace_name)
        [person] = require_persons(hook, workspace, [person_id], "no thumbnail was added")
        held = {thumbnail.thumbnail_key: thumbnail for thumbnail in person.thumbnails}
        if primary is not None and primary in held and not held[primary].is_primary:
            raise AirflowFailException(
                f"primary_thumbnail_key {primary!r} is already a thumbnail of person {described(person)}, "
                "but not its primary one; this operator makes only a new thumbnail primary."
            )
        new = [key for key in keys if key not in held]
        if not new:
            self.log.info("Person %s holds every thumbnail already: nothing to do", described(person))
            return _added(person_id, [], [], len(person.thumbnails))
        with failing_without_retries_on_bad_input():
            rules.validate_thumbnail_total(person_id, len(person.thumbnails) + len(new))
        after = hook.add_person_thumbnails(
            workspace, person_id, new, primary_thumbnail_key=primary if primary in new else None
        )
        before = {thumbnail.thumbnail_id for thumbnail in person.thumbnails}
        added_ids = [thumbnail.thumbnail_id for thumbnail in after if thumbnail.thumbnail_id not in before]
        self.log.info(
            "Added %d thumbnails to person %s (%d skipped: held already); it has %d now",
            len(new),
            described(person),
            len(keys) - len(new),
            len(after),
        )
        return _added(person_id, new, added_ids, len(after))

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The person and the keys added to it."""
        return {
            "personIds": [result["personId"]],
            "action": result["action"],
            "thumbnailKeys": result["added"],
        }


def _added(person_id: str, keys: list[str], thumbnail_ids: list[str], count: int) -> dict[str, Any]:
    return {
        "personId": person_id,
        "action": "attached" if keys else "unchanged",
        "added": keys,
        "addedThumbnailIds": thumbnail_ids,
        "thumbnailCount": count,
    }


class MediaIntelligenceRemovePersonThumbnailsOperator(MediaIntelligenceBaseOperator):
    """
    Remove thumbnails from a person, never all of them: that fails without retries before any
    write. Ids the person does not have are logged and skipped (the API ignores them), so a rerun
    writes nothing. Returns ``{"personId", "removed": [ids], "remaining": count}``.

    :param person_id: the person. (templated)
    :param thumbnail_ids: the thumbnails' ids, as ``get_person`` or the add operator returned them.
        (templated)
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    """

    template_fields: Sequence[str] = ("person_id", "thumbnail_ids", "workspace_name", "mi_conn_id")
    lineage_writes = (lineage.PERSONS,)

    def __init__(self, *, person_id: str | int, thumbnail_ids: Sequence[str | int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.person_id = person_id
        self.thumbnail_ids = thumbnail_ids

    @failing_without_retries_on_refusal()
    def execute(self, context: Context) -> dict[str, Any]:
        """Read the person, then remove those of the thumbnails it has."""
        hook = self.hook
        with failing_without_retries_on_bad_input():
            person_id = rules.validate_id(self.person_id, "person_id")
            ids = rules.validate_ids(self.thumbnail_ids, "thumbnail_ids", maximum=rules.MAX_THUMBNAILS)
            workspace = hook.workspace(self.workspace_name)
        [person] = require_persons(hook, workspace, [person_id], "no thumbnail was removed")
        held = [thumbnail.thumbnail_id for thumbnail in person.thumbnails]
        if unknown := [thumbnail_id for thumbnail_id in ids if thumbnail_id not in held]:
            self.log.info("Person %s has no thumbnail %s: skipped", described(person), ", ".join(unknown))
        removing = [thumbnail_id for thumbnail_id in ids if thumbnail_id in held]
        if not removing:
            self.log.info("Nothing to remove from person %s", described(person))
            return {"personId": person_id, "removed": [], "remaining": len(held)}
        if len(removing) == len(held):
            raise AirflowFailException(
                f"thumbnail_ids holds every thumbnail of person {described(person)}; a person keeps at "
                "least one. Keep one, or delete the person."
            )
        remaining = hook.remove_person_thumbnails(workspace, person_id, removing)
        self.log.info(
            "Removed %d thumbnails from person %s; %d left", len(removing), described(person), len(remaining)
        )
        return {"personId": person_id, "removed": removing, "remaining": len(remaining)}

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The person and the thumbnails removed from it."""
        return {"personIds": [result["personId"]], "removedThumbnailIds": result["removed"]}


class MediaIntelligenceMergePersonsOperator(MediaIntelligenceBaseOperator):
    """
    Merge up to 10 persons into one, irreversibly: their thumbnails and assets move to
    ``person_id``, and they are gone.

    Every person is read first; one not found fails the task without retries, before the merge
    (so does a rerun after a merge: merged persons are not found any more). With ``dry_run=True``
    nothing is written: the task reports what would move. Returns ``{"personId", "name",
    "dryRun", "merged": bool, "mergedPersons": [{"personId", "name", "thumbnailCount"}],
    "thumbnailsToMove", "thumbnailCount", "transferredThumbnailCount", "transferredAssetCount",
    "mergedTime"}``, ``thumbnailCount`` being the target's after the merge and the last three
    ``None`` on a dry run.

    :param person_id: the person that remains. (templated)
    :param merged_person_ids: 1 to 10 other persons to merge into it. (templated)
    :param dry_run: only report what the merge would move.
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    """

    template_fields: Sequence[str] = ("person_id", "merged_person_ids", "workspace_name", "mi_conn_id")
    lineage_writes = (lineage.PERSONS,)

    def __init__(
        self,
        *,
        person_id: str | int,
        merged_person_ids: Sequence[str | int],
        dry_run: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.person_id = person_id
        self.merged_person_ids = merged_person_ids
        # Not self.dry_run: that is BaseOperator's method (``airflow tasks test --dry-run`` calls it).
        self.report_only = _flag(dry_run, "dry_run")

    @failing_without_retries_on_refusal()
    def execute(self, context: Context) -> dict[str, Any]:
        """Read every person, then merge them, or only report what would move."""
        hook = self.hook
        with failing_without_retries_on_bad_input():
            target_id, merged_ids = rules.validate_merge(self.person_id, self.merged_person_ids)
            workspace = hook.workspace(self.workspace_name)
        target, *merged = require_persons(hook, workspace, [target_id, *merged_ids], "nothing was merged")
        moving = sum(len(person.thumbnails) for person in merged)
        with failing_without_retries_on_bad_input():
            count = rules.validate_thumbnail_total(target_id, len(target.thumbnails) + moving)
        plan = {
            "personId": target_id,
            "name": target.name,
            "dryRun": self.report_only,
            "merged": False,
            "mergedPersons": [
                {"personId": person.person_id, "name": person.name, "thumbnailCount": len(person.thumbnails)}
                for person in merged
            ],
            "thumbnailsToMove": moving,
            "thumbnailCount": count,
            "transferredThumbnailCount": None,
            "transferredAssetCount": None,
            "mergedTime": None,
        }
        persons = ", ".join(described(person) for person in merged)
        if self.report_only:
            self.log.info(
                "Dry run: merging %s into person %s would move %d thumbnails (and their assets); "
                "nothing was written",
                persons,
                described(target),
                moving,
            )
            return plan
        result = hook.merge_persons(workspace, target_id, merged_ids)
        self.log.info(
            "Merged %s into person %s: %s thumbnails and %s asset links moved",
            persons,
            described(target),
            result.transferred_thumbnail_count,
            result.transferred_asset_count,
        )
        return {
            **plan,
            "merged": True,
            "transferredThumbnailCount": result.transferred_thumbnail_count,
            "transferredAssetCount": result.transferred_asset_count,
            "mergedTime": result.merged_time,
        }

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The person that remains, those merged into it, and whether it was done (not a dry run)."""
        merged_ids = [person["personId"] for person in result["mergedPersons"]]
        return {"personIds": [result["personId"]], "mergedPersonIds": merged_ids, "merged": result["merged"]}


class MediaIntelligenceDeletePersonOperator(MediaIntelligenceBaseOperator):
    """
    Delete a person, irreversibly (its facial features go with it). A person not found fails the
    task without retries, unless ``missing_ok=True``: then the task logs it and succeeds, so a
    rerun succeeds too. Returns ``{"personId", "deleted": bool, "name"}``.

    :param person_id: the person. (templated)
    :param missing_ok: succeed, deleting nothing, when the person is not found.
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    """

    template_fields: Sequence[str] = ("person_id", "workspace_name", "mi_conn_id")
    lineage_writes = (lineage.PERSONS,)

    def __init__(self, *, person_id: str | int, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.person_id = person_id
        self.missing_ok = _flag(missing_ok, "missing_ok")

    @failing_without_retries_on_refusal()
    def execute(self, context: Context) -> dict[str, Any]:
        """Look the person up, then delete it."""
        hook = self.hook
        with failing_without_retries_on_bad_input():
            person_id = rules.validate_id(self.person_id, "person_id")
            workspace = hook.workspace(self.workspace_name)
        person = find_persons(hook, workspace, [person_id]).get(person_id)
        if person is None and self.missing_ok:
            self.log.info(
                "No person %s in workspace %r: nothing to delete (missing_ok)",
                person_id,
                workspace,
            )
            return {"personId": person_id, "deleted": False, "name": None}
        if person is None:
            raise AirflowFailException(
                f"No person {person_id} in workspace {workspace!r}: nothing was deleted. Set missing_ok=True "
                "to succeed when it is gone already."
            )
        hook.delete_person(workspace, person_id)
        self.log.info("Deleted person %s", described(person))
        return {"personId": person_id, "deleted": True, "name": person.name}

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The person, and whether it was deleted (not gone already)."""
        return {"personIds": [result["personId"]], "deleted": result["deleted"]}
