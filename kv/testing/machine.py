"""`StoreMachine`: a Hypothesis state machine that drives a store and a plain-dict model side by side.

After every step the outcome (the record returned, or the class of the error raised) must be the one
the model predicts, and every full listing must equal the model's. Keys come from a small alphabet
(12 keys over 3 types and 2 meshes) and are mostly drawn among the live ones, so creates collide, owners
exist, cascades happen and name filters meet names that contain, start with and end with them.

Versions are opaque: the model never invents one. It remembers the versions the store returned and
predicts by string equality, so a backend may use any version format (memory "1", "2"…, Postgres
integers, Kubernetes resourceVersions) as long as a version is never reused while a record lives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
from hypothesis import settings as Settings  # noqa: N812 - the class, named for what it is here
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from kv.errors import AlreadyExists, Conflict, KVError, NotFound
from kv.model import Key, Record
from kv.testing.suite import StoreFactory, Types

__all__ = ["StoreMachine", "run_state_machine"]

_MESHES = ("m-1", "m-2")
KEY = st.integers(0, 11)  # an index into StoreMachine.keys
LIVE = st.integers(0, 3)  # 0: any of the 12 keys; else one of the live keys (when there are some)
_VALUES = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.5, -2.0, 1e-3]),
    st.text(alphabet="xyé✓", max_size=3),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 3), max_size=2),
)
DOCS = st.dictionaries(st.sampled_from(["a", "b", "port"]), _VALUES, max_size=3)
LABELS = st.dictionaries(
    st.sampled_from(["app", "kuma.io/zone", "tier"]),
    st.sampled_from(["", "web", "db-1"]),
    max_size=3,
)
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _keys(types: Types) -> list[Key]:
    return (
        [Key(types.owner, "", name) for name in ("a", "b")]
        + [Key(types.item, mesh, name) for mesh in _MESHES for name in ("a", "ab", "ba")]
        + [Key(types.with_status, mesh, name) for mesh in _MESHES for name in ("a", "ab")]
    )


class StoreMachine(RuleBasedStateMachine):
    """Subclass with `for_store` (or use `run_state_machine`) to give it a store factory."""

    factory: ClassVar[StoreFactory]
    types: ClassVar[Types] = Types()

    @classmethod
    def for_store(cls, factory: StoreFactory, types: Types | None = None) -> type[StoreMachine]:
        """A machine class for stores made by *factory* (each example gets a fresh, empty store)."""
        attributes = {"factory": staticmethod(factory), "types": types or Types()}
        return type(f"{cls.__name__}For{factory.__name__.title()}", (cls,), attributes)

    def __init__(self) -> None:
        super().__init__()
        self.store = type(self).factory()
        self.keys = _keys(self.types)
        self.model: dict[Key, Record] = {}
        self.history: dict[Key, list[str]] = {}  # versions the store returned for each key, in order
        self.live_versions: dict[Key, set[str]] = {}  # versions of the current incarnation
        self.ticks = 0

    def _now(self) -> datetime:
        self.ticks += 1
        return BASE + timedelta(seconds=self.ticks, microseconds=7 * self.ticks)

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KVError as exc:  # anything else is a bug: let it fail the test
            return exc

    @staticmethod
    def _expect_error(outcome: object, kind: type[KVError]) -> None:
        assert type(outcome) is kind, f"expected {kind.__name__}, got {outcome!r}"

    def _remember(self, record: Record) -> None:
        assert isinstance(record.version, str), record.version
        assert record.version, "a stored record has a version"
        assert record.version not in self.live_versions.setdefault(record.key, set()), "version reused"
        self.live_versions[record.key].add(record.version)
        self.history.setdefault(record.key, []).append(record.version)
        self.model[record.key] = record

    def _pick_key(self, k: int, live: int) -> Key:
        if live and self.model:
            alive = sorted(self.model)
            return alive[k % len(alive)]
        return self.keys[k]

    def _pick_version(self, key: Key, index: int) -> str:
        seen = self.history.get(key) or ["1", "0"]
        return seen[index % len(seen)]

    @initialize(
        seeds=st.lists(st.tuples(KEY, st.none() | st.integers(0, 7), DOCS), min_size=2, max_size=8),
    )
    def populate(self, seeds: list[tuple[int, int | None, dict[str, Any]]]) -> None:
        """Start from a few records, each owned (or not) by one created before it: chains to cascade."""
        created: list[Key] = []
        for k, owner, spec in seeds:
            owner_key = created[owner % len(created)] if owner is not None and created else None
            self._create(self.keys[k], spec, {}, {}, owner_key)
            if self.keys[k] in self.model:
                created.append(self.keys[k])

    @rule(k=KEY, spec=DOCS, status=DOCS, labels=LABELS, owner=st.none() | KEY, live_owner=LIVE)
    def create(
        self,
        k: int,
        spec: dict[str, Any],
        status: dict[str, Any],
        labels: dict[str, str],
        owner: int | None,
        live_owner: int,
    ) -> None:
        """Create; AlreadyExists if the key is taken, else NotFound if the owner is missing."""
        owner_key = None if owner is None else self._pick_key(owner, live_owner)
        self._create(self.keys[k], spec, status, labels, owner_key)

    def _create(
        self,
        key: Key,
        spec: dict[str, Any],
        status: dict[str, Any],
        labels: dict[str, str],
        owner_key: Key | None,
    ) -> None:
        ctime = self._now()
        record = Record(key=key, spec=spec, status=status, labels=labels)
        outcome = self._call(self.store.create, record, owner=owner_key, creation_time=ctime)
        if key in self.model:
            self._expect_error(outcome, AlreadyExists)
        elif owner_key is not None and owner_key not in self.model:
            self._expect_error(outcome, NotFound)
        else:
            assert isinstance(outcome, Record), outcome
            expected = attrs.evolve(
                record,
                creation_time=ctime,
                modification_time=ctime,
                owner=owner_key,
                version=outcome.version,
            )
            assert outcome == expected
            self.live_versions.pop(key, None)  # a new incarnation
            self._remember(outcome)

    @rule(k=KEY, live=LIVE)
    def get(self, k: int, live: int) -> None:
        """Get; NotFound unless the model has the key."""
        key = self._pick_key(k, live)
        outcome = self._call(self.store.get, key.type, key.mesh, key.name)
        if key in self.model:
            assert outcome == self.model[key]
        else:
            self._expect_error(outcome, NotFound)

    @rule(k=KEY, live=LIVE, index=st.integers(0, 20))
    def get_by_version(self, k: int, live: int, index: int) -> None:
        """Get with a version this key once had; Conflict unless it is the current one."""
        key = self._pick_key(k, live)
        version = self._pick_version(key, index)
        outcome = self._call(self.store.get, key.type, key.mesh, key.name, version=version)
        if key not in self.model:
            self._expect_error(outcome, NotFound)
        elif version == self.model[key].version:
            assert outcome == self.model[key]
        else:
            self._expect_error(outcome, Conflict)

    @rule(
        k=KEY,
        live=LIVE,
        spec=DOCS,
        status=DOCS,
        carried=LABELS,
        new_labels=st.none() | LABELS,
        stale=st.booleans(),
        index=st.integers(0, 20),
    )
    def update(
        self,
        k: int,
        live: int,
        spec: dict[str, Any],
        status: dict[str, Any],
        carried: dict[str, str],
        new_labels: dict[str, str] | None,
        stale: bool,
        index: int,
    ) -> None:
        """Update with the held version, or with any version this key ever had (stale, or after delete)."""
        key = self._pick_key(k, live)
        current = self.model.get(key)
        version = self._pick_version(key, index) if stale or current is None else current.version
        mtime = self._now()
        # creation_time and owner in the record are junk on purpose: update must ignore them.
        record = Record(
            key=key, spec=spec, status=status, labels=carried, version=version, creation_time=mtime
        )
        outcome = self._call(self.store.update, record, modification_time=mtime, labels=new_labels)
        if current is None or version != current.version:
            self._expect_error(outcome, Conflict)
            return
        assert isinstance(outcome, Record), outcome
        expected = attrs.evolve(
            current,
            spec=spec,
            status=status,
            labels=carried if new_labels is None else new_labels,
            modification_time=mtime,
            version=outcome.version,
        )
        assert outcome == expected
        self._remember(outcome)

    @rule(k=KEY, live=LIVE, at_version=st.booleans(), index=st.integers(0, 20))
    def delete(self, k: int, live: int, at_version: bool, index: int) -> None:
        """Delete, maybe at a version; NotFound if missing, Conflict at another version, else a cascade."""
        key = self._pick_key(k, live)
        version = self._pick_version(key, index) if at_version else None
        outcome = self._call(self.store.delete, key.type, key.mesh, key.name, version=version)
        if key not in self.model:
            self._expect_error(outcome, NotFound)
            return
        if version is not None and version != self.model[key].version:
            self._expect_error(outcome, Conflict)
            return
        assert outcome is None, outcome
        doomed = [key]
        while doomed:
            gone = doomed.pop()
            del self.model[gone]
            doomed += [child for child, record in self.model.items() if record.owner == gone]

    @rule(
        t=st.integers(0, 2),
        mesh=st.sampled_from([None, *_MESHES]),
        name_contains=st.sampled_from([None, "a", "b", "ab", "%", "_"]),
        subset=st.none() | st.sets(st.integers(0, 5), max_size=4),
        page_size=st.integers(0, 4),
        offset=st.integers(0, 6),
    )
    def list(
        self,
        t: int,
        mesh: str | None,
        name_contains: str | None,
        subset: set[int] | None,
        page_size: int,
        offset: int,
    ) -> None:
        """List with filters and a page; items, total and next offset as the model computes them."""
        type_name = (self.types.owner, self.types.item, self.types.with_status)[t]
        of_type = [key for key in self.keys if key.type == type_name]
        keys = None if subset is None else [of_type[i % len(of_type)] for i in subset]
        page = self.store.list(
            type_name,
            mesh=mesh,
            name_contains=name_contains,
            keys=keys,
            page_size=page_size,
            offset=str(offset),
        )
        matching = [
            record
            for key, record in sorted(self.model.items(), key=lambda kv: (kv[0].mesh, kv[0].name))
            if key.type == type_name
            and (mesh is None or key.mesh == mesh)
            and (name_contains is None or name_contains in key.name)
            and (keys is None or key in keys)
        ]
        start = offset if page_size else 0
        end = start + page_size if page_size else None
        assert page.total == len(matching)
        assert list(page.items) == matching[start:end]
        assert page.next_offset == (
            str(start + page_size) if page_size and start + page_size < len(matching) else ""
        )

    @invariant()
    def listings_agree(self) -> None:
        """Every full listing equals the model, in (mesh, name) order."""
        for type_name in (self.types.owner, self.types.item, self.types.with_status):
            expected = sorted(
                (r for k, r in self.model.items() if k.type == type_name),
                key=lambda r: (r.key.mesh, r.key.name),
            )
            page = self.store.list(type_name)
            assert list(page.items) == expected
            assert page.total == len(expected)


def run_state_machine(
    factory: StoreFactory, types: Types | None = None, *, settings: Settings | None = None
) -> None:
    """Run `StoreMachine` on stores from *factory*; raises AssertionError (shrunk) on disagreement."""
    run_state_machine_as_test(StoreMachine.for_store(factory, types), settings=settings)
