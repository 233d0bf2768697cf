"""Checkers for recorded histories (`kv.testing.history`), per key, on values ``{"w": id, "prev": id}``.

`check_chain` (Gibbons-Korach, near-linear): the writes that took effect form chains (a create starts
one, an update names the write it replaced, a conditional delete ends it) with no fork, which, ordered by
real time, admit linearization points for every write and read. Unknown-outcome writes count if observed.
Versions reused after delete + re-create (as Kuma's) let a stale update apply to the new record: noted,
as ABA. Limit: ABA meeting unknown-outcome creates or deletes may be misread; use the exact search then.

`check_linearizable` (Wing & Gong, memoised as Lowe's): tries every order of ≤ ~14 operations of a key
against a sequential kv record (create of an existing record: AlreadyExists; update at another version
or of a missing one: Conflict; delete or get of a missing one: NotFound). Exact; cross-checks the other.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

from kv.testing.history import History, Operation, Outcome, Report, Violation

__all__ = ["Report", "Violation", "check_chain", "check_linearizable"]

OK, FAIL, UNKNOWN = Outcome.OK, Outcome.FAIL, Outcome.UNKNOWN
_WRITES = ("create", "update")


def _by_key(ops: History | Iterable[Operation]) -> dict[str, list[Operation]]:
    listed = list(ops.ops if isinstance(ops, History) else ops)
    return {key: [op for op in listed if op.key == key] for key in dict.fromkeys(op.key for op in listed)}


def _versions(key: str, ops: list[Operation], out: list[Violation]) -> dict[str, str]:
    """The version of each write id, from ok writes and reads; a write seen at two versions is flagged."""
    seen: dict[str, tuple[str, Operation]] = {}
    for op in ops:
        w = op.wrote if op.kind in _WRITES else op.read
        if op.outcome is not OK or w is None or op.version_out is None:
            continue
        if w in seen and seen[w][0] != op.version_out:
            message = f"write {w} seen at version {seen[w][0]} and at version {op.version_out}"
            out.append(Violation(key, "inconsistent versions", message, (seen[w][1], op)))
        seen.setdefault(w, (op.version_out, op))
    for op in ops:  # a client that held a version of a write had read it (in an op maybe unrecorded)
        if op.held and op.version_in is not None and op.outcome is not FAIL:
            seen.setdefault(op.held, (op.version_in, op))
    return {w: v for w, (v, _) in seen.items()}


def check_chain(history: History | Iterable[Operation]) -> Report:
    """Check a history of versioned writes and reads per key with the chain check (see the module docs).

    Raises:
        ValueError: a delete without a version (the chain check cannot tell which write it ended).
    """
    violations: list[Violation] = []
    notes: list[str] = []
    for key, ops in _by_key(history).items():
        _ChainCheck(key, ops, violations, notes).run()
    return Report(tuple(violations), tuple(notes))


class _ChainCheck:
    def __init__(self, key: str, ops: list[Operation], out: list[Violation], notes: list[str]) -> None:
        self.key, self.ops, self.out, self.notes = key, ops, out, notes
        self.writes = {op.wrote: op for op in ops if op.kind in _WRITES and op.wrote}
        self.version = _versions(key, ops, out)
        self.reads = [op for op in ops if op.kind == "get" and op.outcome is OK]
        self.absent_reads = [op for op in ops if op.kind == "get" and op.outcome is FAIL]

    def flag(self, kind: str, message: str, *ops: Operation) -> None:
        self.out.append(Violation(self.key, kind, message, ops))

    def run(self) -> None:
        for op in self.ops:
            if op.kind == "delete" and op.outcome is not FAIL and (op.version_in is None or op.held is None):
                raise ValueError(f"the chain check needs conditional deletes naming the write held: {op}")
        for read in self.reads:
            if read.read not in self.writes:
                self.flag("phantom read", f"returned {read.read}, which no operation wrote", read)
            elif (writer := self.writes[read.read]).outcome is FAIL:
                self.flag("failed write observed", f"returned {read.read}, whose write failed", read, writer)
        effective = self.effective()
        self.order(self.link(effective), effective)

    def effective(self) -> set[str]:
        """The write ids that took effect: ok ones, and unknown ones that were read or replaced."""
        done = {w for w, op in self.writes.items() if op.outcome is OK}
        seen = {r.read for r in self.reads if r.read}
        seen |= {op.held for op in self.ops if op.kind != "get" and op.held and op.outcome is OK}
        grow = {w for w, op in self.writes.items() if op.outcome is UNKNOWN and w in seen}
        while grow:  # an unknown write that replaced something proves that something took effect too
            done |= grow
            held = {self.writes[w].held or "" for w in grow} - done
            grow = {w for w in held if w in self.writes and self.writes[w].outcome is UNKNOWN}
        return done

    def link(self, effective: set[str]) -> dict[str, list[Operation]]:
        """Each effective write's successor: the update or delete naming it, but for ABA; flag forks.

        ABA: where several name one write, an update replaced the write at its version in the record it
        returned (same creation time); deletes and the free writes at that version are paired in time order.
        """
        successors: dict[str, list[Operation]] = {}
        holding: dict[str | None, list[Operation]] = {}
        for op in self.ops:
            takes_effect = (op.kind == "delete" and op.outcome is OK) or op.wrote in effective
            if op.held is None or not takes_effect:
                continue
            writer = self.writes.get(op.held)
            if writer is None or writer.outcome is FAIL:
                self.flag("unknown predecessor", f"replaced {op.held}, which no write put there", op)
            elif op.version_in != self.version.get(op.held, op.version_in):
                message = f"held version {op.version_in}, but {op.held} is at {self.version[op.held]}"
                self.flag("inconsistent versions", message, op, writer)
            else:
                holding.setdefault(op.version_in, []).append(op)
        for version, claims in holding.items():
            at = [w for w in effective if self.version.get(w) == version]
            born = {self.writes[w].born: w for w in at if self.writes[w].born}  # an update's record is known
            exact = {claim.id: born[claim.born] for claim in claims if claim.born in born}
            named: dict[str, list[Operation]] = {}
            for claim in claims:
                named.setdefault(exact.get(claim.id, claim.held or ""), []).append(claim)
            if all(len(named_) == 1 for named_ in named.values()) or len(claims) > len(at):
                successors.update(named)
                continue
            rest = [claim for claim in claims if claim.id not in exact]  # deletes: by rank in time
            successors.update({w: [c for c in claims if exact.get(c.id) == w] for w in set(exact.values())})
            free = sorted((w for w in at if w not in successors), key=lambda w: _when(self.writes[w]))
            successors.update({w: [claim] for w, claim in zip(free, sorted(rest, key=_when), strict=False)})
        for held, claims in successors.items():
            self.notes.extend(
                f"{self.key}: ABA: #{c.id} held {c.held}, replaced {held}" for c in claims if c.held != held
            )
            if len(claims) > 1:
                message = " and ".join(f"#{op.id}" for op in claims) + f" both replaced {held}"
                self.flag("fork (lost update)", message, self.writes[held], *claims)
        return successors

    def order(self, successors: dict[str, list[Operation]], effective: set[str]) -> None:
        """Order the incarnations by real time and check the whole sequence (see `feasible`).

        A record left alive may have been ended by unknown-outcome updates and a delete (`ending`): the
        chains are tried as they are, then so extended; the first reading that fits wins, else the first's
        violations are reported (the extended one's where several records would be alive).
        """
        chains: list[list[Operation]] = []
        for create in self.ops:
            if create.kind == "create" and create.wrote in effective:
                chain = [create]
                while chain[-1].kind != "delete" and (after := successors.get(chain[-1].wrote or "")):
                    chain.append(after[0])
                    if len(chain) > len(self.ops):
                        break  # a cycle (a store's bug), reported as a fork or a version conflict
                chains.append(chain)
        extended = [c if c[-1].kind == "delete" else c + self.ending(c[-1].wrote, 0) for c in chains]
        readings = [chains, extended] if extended != chains else [chains]
        if sum(c[-1].kind != "delete" for c in chains) > 1:
            readings.reverse()
        found = [self.sequence(reading) for reading in readings]
        self.out.extend(next((f for f in found if not f), found[0]))

    def sequence(self, chains: list[list[Operation]]) -> list[Violation]:
        """The violations of the best order of *chains* that respects real time (none if one fits)."""
        alive = [c for c in chains if c[-1].kind != "delete"]
        if len(alive) > 1:
            message = "creates succeeded with no delete between"
            return [Violation(self.key, "two records alive", message, tuple(c[0] for c in alive))]
        before = {  # (a, b): chain a must come before chain b
            (a, b)
            for a, b in itertools.permutations(range(len(chains)), 2)
            if min(op.complete for op in chains[a]) < max(op.invoke for op in chains[b]) or chains[b] in alive
        }
        left = set(range(len(chains)))
        while free := {i for i in left if not any(a in left for a, b in before if b == i)}:
            left -= free
        if left:
            ops = tuple(chains[i][0] for i in left)
            return [Violation(self.key, "overlapping records", "no order fits real time", ops)]
        first, chosen = list[Violation](), tuple[int, ...]()
        for n, permutation in enumerate(_extensions(len(chains), before)):
            found: list[Violation] = []
            self.feasible([op for i in permutation for op in chains[i]], found)
            if not found or not n:
                first, chosen = found, permutation
            if not found or n >= 200:
                break
        return first + self.absent([chains[i] for i in chosen])

    def ending(self, wrote: str | None, depth: int) -> list[Operation]:
        """Unknown-outcome updates, then an unknown delete, that may have ended the record at *wrote*."""
        for op in self.ops:
            if op.outcome is UNKNOWN and op.held == wrote and op.kind != "create" and depth < 4:
                rest = [] if op.kind == "delete" else self.ending(op.wrote, depth + 1)
                if op.kind == "delete" or rest:
                    return [op, *rest]
        return []

    def feasible(self, sequence: list[Operation], found: list[Violation]) -> None:
        """Whether increasing linearization points exist for the chain *sequence* and the reads."""
        position = {op.wrote: i for i, op in enumerate(sequence) if op.wrote}
        low = [(op.invoke, op) for op in sequence]  # t_i >= these invocations
        high = [(op.complete, op) for op in sequence]  # t_i <= these completions
        for read in self.reads:
            i = position.get(read.read or "")
            if i is not None:
                high[i] = min(high[i], (read.complete, read), key=lambda pair: pair[0])
                if i + 1 < len(sequence):
                    low[i + 1] = max(low[i + 1], (read.invoke, read), key=lambda pair: pair[0])
        latest: tuple[float, Operation | None] = (float("-inf"), None)
        for j, (bound, first) in enumerate(high):
            latest = max(latest, low[j], key=lambda pair: pair[0])
            later = latest[1]
            if later is not None and latest[0] > bound:
                kind = "read from the future" if first.kind == "get" else "real-time order"
                kind = "stale read" if later.kind == "get" else kind
                message = f"#{first.id} completed before #{later.id} was invoked, yet #{later.id} comes first"
                return found.append(Violation(self.key, kind, message, (first, later)))

    def absent(self, chains: list[list[Operation]]) -> list[Violation]:
        """Each NotFound read overlaps a period when the record could be absent (a necessary condition)."""
        found = []
        starts: list[Operation | None] = [None, *(c[-1] for c in chains)]  # a delete, else the last write
        gaps = list(zip(starts, [*(c[0] for c in chains), None], strict=True))
        for read in self.absent_reads:
            if not any(
                (start is None or (start.kind == "delete" and start.invoke <= read.complete))
                and (end is None or end.complete >= read.invoke)
                for start, end in gaps
            ):
                creates = [end for _, end in gaps if end is not None and end.complete < read.invoke]
                message = "returned NotFound after the create completed, with no delete in between (lost ack)"
                found.append(Violation(self.key, "stale NotFound", message, (read, *creates[-1:])))
        return found


def _when(op: Operation) -> float:
    return op.invoke if op.complete == float("inf") else op.complete


def _extensions(n: int, edges: set[tuple[int, int]], done: tuple[int, ...] = ()) -> Iterator[tuple[int, ...]]:
    """Orders of range(n) that respect the pairs (a, b) of *edges* (a first); *edges* must be acyclic."""
    if len(done) == n:
        yield done
    for i in range(n):
        if i not in done and all(a in done for a, b in edges if b == i):
            yield from _extensions(n, edges, (*done, i))


State = tuple[str, str | None] | None


def _step(op: Operation, state: State, version_of: Callable[[str], str | None]) -> list[tuple[str, State]]:
    """The sequential model of one record: possible (result, next state); result: "ok" or an error's name."""
    if op.kind == "get":
        return [("ok", state) if state else ("NotFound", state)]
    written: State = (op.wrote or "", version_of(op.wrote or ""))
    if op.kind == "create":
        return [("AlreadyExists", state) if state else ("ok", written)]
    if not state:
        return [("Conflict" if op.kind == "update" else "NotFound", state)]
    after = written if op.kind == "update" else None
    if (op.kind == "delete" and not op.version_in) or state[1] == op.version_in:
        return [("ok", after)]
    return [("Conflict", state), *([("ok", after)] if state[1] is None else [])]  # None: a version nobody saw


def check_linearizable(history: History | Iterable[Operation], *, limit: int = 14) -> Report:
    """Check per key that some order of the operations, respecting real time, fits the model.

    Ok and fail operations must be placed (fail ones failing the same way); unknown ones anywhere or nowhere.

    Raises:
        ValueError: a key has more than *limit* operations (the search is exponential).
    """
    violations: list[Violation] = []
    for key, ops in _by_key(history).items():
        if len(ops) > limit:
            raise ValueError(f"{len(ops)} operations on {key}: too many to search (limit {limit})")
        _search(key, ops, violations)
    return Report(tuple(violations))


def _search(key: str, ops: list[Operation], violations: list[Violation]) -> None:
    versions = _versions(key, ops, violations)
    required = sum(1 << i for i, op in enumerate(ops) if op.outcome in (OK, FAIL))
    memo: set[tuple[int, State]] = set()
    deepest: list[int] = []

    def search(done: int, state: State, path: list[int]) -> bool:
        if done & required == required:
            return True
        if (done, state) in memo:
            return False
        memo.add((done, state))
        deepest[:] = path if len(path) > len(deepest) else deepest
        horizon = min(op.complete for i, op in enumerate(ops) if not done >> i & 1)
        for i, op in enumerate(ops):
            if done >> i & 1 or op.invoke > horizon:
                continue
            for result, after in _step(op, state, versions.get):
                fits = result == op.error if op.outcome is FAIL else result == "ok"
                fits = fits and (op.kind != "get" or result != "ok" or (after or ("",))[0] == op.read)
                branches = ([after] if fits else []) + ([state] if op.outcome is UNKNOWN else [])
                if any(search(done | 1 << i, branch, [*path, i]) for branch in branches):
                    return True
        return False

    if not search(0, None, []):
        prefix = ", ".join(f"#{ops[i].id}" for i in deepest) or "nothing"
        message = f"no order fits one record; the longest that does: {prefix}; then nothing fits"
        violations.append(Violation(key, "not linearizable", message, tuple(ops)))
