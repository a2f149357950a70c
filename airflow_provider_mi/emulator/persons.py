"""
The emulator's persons, their thumbnails and tags, per workspace, with the API's rules (:mod:`.rules`).

A thumbnail key can be registered once (to one person, ever: deleting a person or removing the
thumbnail does not free it) while the upload is in storage, visible, accepted by the judge and
less than 24 hours old on the emulator's clock. Merging moves the merged persons' thumbnails (as
non-primary ones) and tags to the target and removes them. Compare and similar score with the
stand-in of :mod:`.likeness`; a person's score is the best over its thumbnails (and, for similar,
the base person's). Records are immutable: what :meth:`PersonBook.persons` returns is a snapshot.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from airflow_provider_mi.emulator import rules
from airflow_provider_mi.emulator.fields import Refused
from airflow_provider_mi.emulator.judge import judge_thumbnail
from airflow_provider_mi.emulator.likeness import face_hash, likeness


@dataclass(frozen=True)
class Thumbnail:
    """
    One of a person's thumbnails.

    :param face: its :func:`~.likeness.face_hash`.
    :param data: the image's bytes, served at its URL.
    """

    id: int
    key: str
    primary: bool
    face: int
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Tag:
    """A person tag of a workspace."""

    id: int
    name: str


@dataclass(frozen=True)
class Person:
    """A person as it is now (a snapshot); times are Unix seconds on the emulator's clock."""

    person_id: int
    name: str | None
    description: str | None
    tags: tuple[Tag, ...]
    thumbnails: tuple[Thumbnail, ...]
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Merge:
    """What a merge did: the target as it is now and the thumbnails it received."""

    person: Person
    transferred_thumbnails: int


@dataclass
class _Workspace:
    persons: dict[int, Person] = field(default_factory=dict)
    merged_into: dict[int, int] = field(default_factory=dict)
    tags: dict[int, Tag] = field(default_factory=dict)
    #: Thumbnail key -> the person it was registered to (merges move it to the target).
    key_owners: dict[str, int] = field(default_factory=dict)


#: ``(workspace, thumbnail key) -> (the bytes, when they were uploaded)`` if storage holds it, visible.
Uploads = Callable[[str, str], "tuple[bytes, float] | None"]


class PersonBook:
    """
    Every workspace's persons and tags; each method checks the API's rules and raises :class:`Refused`.

    :param clock: the emulator's clock (Unix seconds).
    :param uploads: looks up an uploaded thumbnail.
    """

    def __init__(self, clock: Callable[[], float], uploads: Uploads) -> None:
        self._clock = clock
        self._uploads = uploads
        self._workspaces: dict[str, _Workspace] = {}
        self._person_ids = itertools.count(rules.FIRST_PERSON_ID)
        self._thumbnail_ids = itertools.count(rules.FIRST_THUMBNAIL_ID)
        self._tag_ids = itertools.count(rules.FIRST_TAG_ID)
        self._lock = threading.Lock()

    def _space(self, workspace: str) -> _Workspace:
        return self._workspaces.setdefault(workspace, _Workspace())

    def _person(self, space: _Workspace, person_id: int) -> Person:
        person = space.persons.get(person_id)
        if person is None:
            raise Refused(f"Person {person_id} does not exist.")
        return person

    def _check_name(self, space: _Workspace, name: str | None, person_id: int | None = None) -> None:
        if name is not None and any(
            other.name == name and other.person_id != person_id for other in space.persons.values()
        ):
            raise Refused(f"The name {name!r} is already used in the workspace.")

    def _new_thumbnails(self, workspace: str, given: list[tuple[str, bool]]) -> list[Thumbnail]:
        """Check each ``(key, primary)`` given and make it a thumbnail (not yet registered)."""
        space, now = self._space(workspace), self._clock()
        checked: dict[str, bytes] = {}
        for key, _ in given:
            owner = space.key_owners.get(key)
            if owner is not None:
                raise Refused(f"Thumbnail key {key!r} is already registered to person {owner}.")
            if key in checked:
                raise Refused(f"Thumbnail key {key!r} is given twice.")
            checked[key] = self._uploaded(workspace, key, now)
        # Ids are given once every key passed: a refused request uses none.
        return [
            Thumbnail(next(self._thumbnail_ids), key, primary, face_hash(checked[key]), checked[key])
            for key, primary in given
        ]

    def _uploaded(self, workspace: str, key: str, now: float) -> bytes:
        """Return the bytes of an uploaded, visible, valid, unexpired thumbnail key, or refuse it."""
        upload = self._uploads(workspace, key)
        if upload is None:
            raise Refused(f"Thumbnail key {key!r} is not an uploaded thumbnail.")
        data, uploaded_at = upload
        if now >= uploaded_at + rules.THUMBNAIL_KEY_TTL_SECONDS:
            raise Refused(f"Thumbnail key {key!r} has expired (24 hours after upload); upload it again.")
        reason = judge_thumbnail(data)
        if reason is not None:
            raise Refused(f"Thumbnail key {key!r} failed upload completion ({reason}); upload a valid image.")
        return data

    def _register(self, space: _Workspace, person: Person) -> Person:
        space.persons[person.person_id] = person
        for thumbnail in person.thumbnails:
            space.key_owners[thumbnail.key] = person.person_id
        return person

    # --- persons ------------------------------------------------------------------------------

    def create(
        self, workspace: str, name: str | None, description: str | None, thumbnails: list[tuple[str, bool]]
    ) -> Person:
        """Register a person; exactly one of ``thumbnails`` (``(key, primary)``) must be primary."""
        primaries = sum(primary for _, primary in thumbnails)
        if primaries != 1:
            raise Refused(f"Exactly one of thumbnails must have isPrimaryThumbnail true, got {primaries}.")
        with self._lock:
            space = self._space(workspace)
            self._check_name(space, name)
            made = self._new_thumbnails(workspace, thumbnails)
            now = self._clock()
            person = Person(next(self._person_ids), name, description, (), tuple(made), now, now)
            return self._register(space, person)

    def get(self, workspace: str, person_id: int) -> Person:
        """Return a person, or refuse an unknown (deleted, merged) one."""
        with self._lock:
            return self._person(self._space(workspace), person_id)

    def update(
        self,
        workspace: str,
        person_id: int,
        name: str | None,
        description: str | None,
        primary_thumbnail_id: int | None,
    ) -> Person:
        """Change what is given (``None``: unchanged); the primary thumbnail must be the person's."""
        with self._lock:
            space = self._space(workspace)
            person = self._person(space, person_id)
            self._check_name(space, name, person_id)
            thumbnails = person.thumbnails
            if primary_thumbnail_id is not None:
                if all(thumbnail.id != primary_thumbnail_id for thumbnail in thumbnails):
                    raise Refused(
                        f"Thumbnail {primary_thumbnail_id} is not a thumbnail of person {person_id}."
                    )
                thumbnails = tuple(replace(t, primary=t.id == primary_thumbnail_id) for t in thumbnails)
            changed = replace(
                person,
                name=person.name if name is None else name,
                description=person.description if description is None else description,
                thumbnails=thumbnails,
                updated_at=self._clock(),
            )
            return self._register(space, changed)

    def delete(self, workspace: str, person_id: int) -> Person:
        """Remove a person; return it as it was (its thumbnail keys stay used)."""
        with self._lock:
            space = self._space(workspace)
            person = self._person(space, person_id)
            del space.persons[person_id]
            return person

    def persons(self, workspace: str) -> list[Person]:
        """Return the workspace's persons, by id."""
        with self._lock:
            return sorted(self._space(workspace).persons.values(), key=lambda person: person.person_id)

    def merge(self, workspace: str, person_id: int, person_ids: list[int]) -> Merge:
        """Move the thumbnails and tags of ``person_ids`` to ``person_id`` and remove them."""
        with self._lock:
            space = self._space(workspace)
            target = self._person(space, person_id)
            for other in person_ids:
                if other == person_id:
                    raise Refused(f"personIds must not hold the target person {person_id} itself.")
                if person_ids.count(other) > 1:
                    raise Refused(f"personIds holds {other} twice.")
                if other in space.merged_into:
                    raise Refused(
                        f"Person {other} was already merged into person {space.merged_into[other]}."
                    )
                self._person(space, other)
            merged = [space.persons[other] for other in person_ids]
            moved = [replace(t, primary=False) for person in merged for t in person.thumbnails]
            self._check_thumbnail_count(person_id, len(target.thumbnails) + len(moved))
            tags = {tag.id: tag for person in (target, *merged) for tag in person.tags}
            for other in person_ids:
                del space.persons[other]
                space.merged_into[other] = person_id
            now = self._clock()
            changed = replace(
                target, thumbnails=(*target.thumbnails, *moved), tags=tuple(tags.values()), updated_at=now
            )
            return Merge(self._register(space, changed), len(moved))

    # --- thumbnails ---------------------------------------------------------------------------

    @staticmethod
    def _check_thumbnail_count(person_id: int, count: int) -> None:
        most = rules.THUMBNAILS_PER_PERSON.high
        if count > most:
            raise Refused(f"Person {person_id} would have {count} thumbnails; a person has at most {most}.")

    def add_thumbnails(self, workspace: str, person_id: int, thumbnails: list[tuple[str, bool]]) -> Person:
        """Add thumbnails (at most one primary: it demotes the person's primary one)."""
        primaries = sum(primary for _, primary in thumbnails)
        if primaries > 1:
            raise Refused(f"At most one of thumbnails may have isPrimaryThumbnail true, got {primaries}.")
        with self._lock:
            space = self._space(workspace)
            person = self._person(space, person_id)
            self._check_thumbnail_count(person_id, len(person.thumbnails) + len(thumbnails))
            made = self._new_thumbnails(workspace, thumbnails)
            kept = person.thumbnails
            if primaries:
                kept = tuple(replace(thumbnail, primary=False) for thumbnail in kept)
            changed = replace(person, thumbnails=(*kept, *made), updated_at=self._clock())
            return self._register(space, changed)

    def remove_thumbnails(self, workspace: str, person_id: int, thumbnail_ids: list[int]) -> Person:
        """Remove the person's thumbnails among ``thumbnail_ids`` (others are ignored), never all."""
        with self._lock:
            space = self._space(workspace)
            person = self._person(space, person_id)
            kept = [thumbnail for thumbnail in person.thumbnails if thumbnail.id not in thumbnail_ids]
            if not kept:
                raise Refused(
                    f"thumbnailIds would remove every thumbnail of person {person_id}; "
                    "a person keeps at least one."
                )
            if not any(thumbnail.primary for thumbnail in kept):
                kept[0] = replace(kept[0], primary=True)  # the primary one went: the oldest left takes over
            changed = replace(person, thumbnails=tuple(kept), updated_at=self._clock())
            return self._register(space, changed)

    def thumbnail_image(self, thumbnail_id: int) -> bytes | None:
        """Return the image of a thumbnail some person has now, in any workspace."""
        with self._lock:
            for space in self._workspaces.values():
                for person in space.persons.values():
                    for thumbnail in person.thumbnails:
                        if thumbnail.id == thumbnail_id:
                            return thumbnail.data
        return None

    # --- compare and similar ------------------------------------------------------------------

    @staticmethod
    def _ranked(
        faces: list[int], candidates: Iterable[Person], count: int, threshold: int
    ) -> list[tuple[Person, int]]:
        scored = [
            (person, max(likeness(face, t.face) for face in faces for t in person.thumbnails))
            for person in candidates
        ]
        scored = [(person, score) for person, score in scored if score >= threshold]
        scored.sort(key=lambda pair: (-pair[1], pair[0].person_id))
        return scored[:count]

    def compare(self, workspace: str, key: str, count: int, threshold: int) -> list[tuple[Person, int]]:
        """Return the persons whose score against the thumbnail is ``threshold`` or more, best first."""
        with self._lock:
            face = face_hash(self._uploaded(workspace, key, self._clock()))
            return self._ranked([face], self._space(workspace).persons.values(), count, threshold)

    def similar(self, workspace: str, person_id: int, count: int, threshold: int) -> list[tuple[Person, int]]:
        """Return the other persons whose score against the person is ``threshold`` or more, best first."""
        with self._lock:
            space = self._space(workspace)
            faces = [thumbnail.face for thumbnail in self._person(space, person_id).thumbnails]
            others = (person for person in space.persons.values() if person.person_id != person_id)
            return self._ranked(faces, others, count, threshold)

    # --- tags ---------------------------------------------------------------------------------

    def tags(self, workspace: str) -> list[Tag]:
        """Return the workspace's tags, by id."""
        with self._lock:
            return sorted(self._space(workspace).tags.values(), key=lambda tag: tag.id)

    def create_tag(self, workspace: str, name: str) -> Tag:
        """Create a tag with a name unique in the workspace."""
        with self._lock:
            space = self._space(workspace)
            if any(tag.name == name for tag in space.tags.values()):
                raise Refused(f"The tag name {name!r} is already used in the workspace.")
            tag = Tag(next(self._tag_ids), name)
            space.tags[tag.id] = tag
            return tag

    def delete_tag(self, workspace: str, tag_id: int) -> Tag:
        """Delete a tag, and take it off every person."""
        with self._lock:
            space = self._space(workspace)
            tag = space.tags.pop(tag_id, None)
            if tag is None:
                raise Refused(f"Tag {tag_id} does not exist.")
            for person in list(space.persons.values()):
                if tag in person.tags:
                    space.persons[person.person_id] = replace(
                        person, tags=tuple(t for t in person.tags if t != tag)
                    )
            return tag

    def add_tags(self, workspace: str, person_id: int, tag_ids: list[int]) -> Person:
        """Set existing tags on a person (ones it has, or given twice, are ignored)."""
        with self._lock:
            space = self._space(workspace)
            person = self._person(space, person_id)
            unknown = [tag_id for tag_id in tag_ids if tag_id not in space.tags]
            if unknown:
                raise Refused(f"Tag {unknown[0]} does not exist.")
            tags = {tag.id: tag for tag in person.tags} | {tag_id: space.tags[tag_id] for tag_id in tag_ids}
            return self._register(space, replace(person, tags=tuple(tags.values()), updated_at=self._clock()))

    def remove_tags(self, workspace: str, person_id: int, tag_ids: list[int]) -> Person:
        """Take tags off a person (ones it does not have are ignored)."""
        with self._lock:
            space = self._space(workspace)
            person = self._person(space, person_id)
            kept = tuple(tag for tag in person.tags if tag.id not in tag_ids)
            return self._register(space, replace(person, tags=kept, updated_at=self._clock()))
