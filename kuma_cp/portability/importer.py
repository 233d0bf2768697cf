"""``kuma-cp import``: validated documents written into a store, in dependency order, all or nothing.

1. Every document is read and validated (`kuma_cp.portability.documents`), and checked against the store:
   a mesh-scoped resource needs its Mesh (in the store or among the documents); with ``mode="create"``
   nothing may exist yet. Every problem is reported at once (`ImportFailed`) and nothing is written.
2. Meshes are written first (they own what is in them), then the rest in the documents' order. A new
   resource is created with its creation and modification times; with ``mode="upsert"`` (the default) an
   existing one is updated to the document (spec, status, labels, modification time; its creation time
   stays), and one already equal to it is left alone, so importing the same file twice changes nothing.
3. All writes happen in one transaction: on Postgres an import is all or nothing (a killed import
   leaves the database as it was). Memory and Kubernetes have no transactions, as in Kuma: a failed
   import there keeps what was written before the failure, and importing again completes it.

``dry_run`` does step 1 and counts what step 2 would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
from attrs import frozen

import kv
from kuma_cp.manager import owner_of
from kuma_cp.portability.documents import Document, Problem

__all__ = ["MODES", "ImportFailed", "Outcome", "check", "run"]

MODES = ("create", "upsert")


@frozen
class Outcome:
    """What an import did (or, dry, would do)."""

    created: int
    updated: int
    unchanged: int
    dry_run: bool = False

    def __str__(self) -> str:
        total = self.created + self.updated + self.unchanged
        verb = "would import" if self.dry_run else "imported"
        return (
            f"{verb} {total} resources: {self.created} created, {self.updated} updated,"
            f" {self.unchanged} unchanged"
        )


class ImportFailed(Exception):
    """Nothing (or, on a store without transactions, not everything) was imported; ``problems`` say why."""

    def __init__(self, problems: Sequence[Problem | str], summary: str = "") -> None:
        self.problems = [str(p) for p in problems]
        self.summary = summary
        super().__init__("\n".join([*self.problems, summary] if summary else self.problems))


def _existing(store: kv.Store, documents: Sequence[Document]) -> dict[kv.Key, kv.Record]:
    """Every stored resource of the types the documents hold, and their Meshes."""
    types = {d.key.type for d in documents} | {"Mesh"}
    found: dict[kv.Key, kv.Record] = {}
    for type_name in sorted(types):
        for record in store.list(type_name).items:
            found[record.key] = record
    return found


def check(
    store: kv.Store, documents: Sequence[Document], *, mode: str = "upsert"
) -> tuple[dict[kv.Key, kv.Record], list[Problem]]:
    """The stored resources the documents meet, and what forbids the import (repeats, missing Meshes…)."""
    existing = _existing(store, documents)
    meshes = {d.key.name for d in documents if d.key.type == "Mesh"}
    meshes |= {k.name for k in existing if k.type == "Mesh"}
    problems, seen = [], dict[kv.Key, Document]()
    for doc in documents:
        if (first := seen.setdefault(doc.key, doc)) is not doc:
            problems.append(
                Problem(doc.source, doc.index, f"the same resource as {first.source} document {first.index}")
            )
        owner = owner_of(doc.rtype, doc.key.mesh, doc.key.name)
        if owner is not None and owner.name not in meshes:
            problems.append(Problem(doc.source, doc.index, f"mesh of name {owner.name} is not found"))
        if mode == "create" and doc.key in existing:
            message = str(kv.AlreadyExists.of(doc.key))
            problems.append(Problem(doc.source, doc.index, f"{message} (--mode create)"))
    return existing, problems


def _same(stored: kv.Record, wanted: kv.Record) -> bool:
    return (stored.spec, stored.status, stored.labels) == (wanted.spec, wanted.status, wanted.labels)


def _verdict(stored: kv.Record | None, wanted: kv.Record) -> str:
    return "created" if stored is None else "unchanged" if _same(stored, wanted) else "updated"


def _write(store: kv.Store, doc: Document, stored: kv.Record | None) -> str:
    record, verdict = doc.record, _verdict(stored, doc.record)
    if stored is None:
        store.create(
            record,
            owner=owner_of(doc.rtype, record.key.mesh, record.key.name),
            creation_time=record.creation_time,
            modification_time=record.modification_time,
        )
    elif verdict == "updated":
        wanted = attrs.evolve(record, version=stored.version)
        store.update(wanted, modification_time=record.modification_time)
    return verdict


def run(
    store: kv.Store,
    documents: Sequence[Document],
    *,
    mode: str = "upsert",
    dry_run: bool = False,
    progress: Callable[[int], None] = lambda _: None,
) -> Outcome:
    """Import *documents* into *store* (see the module docstring); `ImportFailed` when it cannot."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    existing, problems = check(store, documents, mode=mode)
    if problems:
        raise ImportFailed(problems, "nothing was imported")
    counts = dict.fromkeys(("created", "updated", "unchanged"), 0)
    ordered = sorted(documents, key=lambda d: d.key.type != "Mesh")  # stable: Meshes first
    if dry_run:
        for doc in ordered:
            counts[_verdict(existing.get(doc.key), doc.record)] += 1
        return Outcome(counts["created"], counts["updated"], counts["unchanged"], dry_run=True)
    current: Document | None = None
    try:
        with store.transaction():
            for current in ordered:
                counts[_write(store, current, existing.get(current.key))] += 1
                progress(1)
    except kv.KVError as exc:
        where = f"{current.source}: document {current.index}" if current else "the store"
        done = counts["created"] + counts["updated"]
        if store.driver.name == "postgres" or not done:
            summary = "nothing was imported"
        else:
            summary = (
                f"{done} resources were written before the failure (this store has no transactions);"
                " importing again with --mode upsert completes the import"
            )
        raise ImportFailed([f"{where}: {exc}"], summary) from exc
    return Outcome(counts["created"], counts["updated"], counts["unchanged"])
