"""Operators for the person side: register a person from thumbnails, deduplicated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, Context

from airflow_provider_mi.core import person_rules as rules
from airflow_provider_mi.core.persons import Person, PersonMatch
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
        if on_match not in ON_MATCH:
            raise InvalidParameterError(f"on_match is {on_match!r}; use one of {list(ON_MATCH)}.")
        self.thumbnail_keys = thumbnail_keys
        self.name = name
        self.description = description
        self.on_match = on_match
        self.score_threshold = rules.validate_in_range(
            score_threshold, "score_threshold", rules.SCORE_THRESHOLD_RANGE
        )

    def execute(self, context: Context) -> dict[str, Any]:
        """Find the person the thumbnails show, then attach to it, fail, or create one."""
        with failing_without_retries_on_refusal():
            return self._register(self.hook)

    def _register(self, hook: MediaIntelligenceHook) -> dict[str, Any]:
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


def _result(person_id: str, action: str, matched_by: str | None, score: float | None) -> dict[str, Any]:
    return {
        "personId": person_id,
        "action": action,
        "created": action == "created",
        "matched": matched_by is not None,
        "matchedBy": matched_by,
        "score": score,
    }
