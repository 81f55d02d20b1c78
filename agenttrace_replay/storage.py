"""Content-addressed state storage: hashing values and delta-encoding lists of hashes.

A state is a few single values (stored by hash) and named lists of hashes (``messages``,
``input_messages``, ``completed``). A list is encoded against a *base*, an earlier
checkpoint's list: ``base[:keep] + added``. Encoding first finds the predecessor list that
shares the longest prefix; that predecessor sits at position ``p`` of a chain, so the new
list is at ``i = p + 1``. Rather than the predecessor itself, the base is its ancestor at
position ``i - lowbit(i)`` (as in a Fenwick tree): each list then stores what is new since
that ancestor, the stored hashes add up to O(n log n) for a run of n checkpoints, and a
restore follows at most log2(n) + 1 links.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

HASH_SIZE = 16


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: Any) -> bytes:
    return digest_text(canonical(value))


def digest_text(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=HASH_SIZE).digest()


def split_hashes(packed: bytes) -> list[bytes]:
    return [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]


@dataclass(frozen=True, slots=True)
class Prefix:
    """The first ``length`` items of ``items``, a list only ever appended to from then on.

    States and their hash lists share one growing list this way instead of each holding a
    copy, which made a run of n checkpoints O(n^2) in memory.
    """

    items: list[Any]
    length: int

    def __iter__(self) -> Iterator[Any]:
        return itertools.islice(self.items, self.length)

    def as_list(self) -> list[Any]:
        return self.items[: self.length]


class _Tape(list[bytes]):
    """A hash list the store built itself, so the store may append to it."""


@dataclass
class ListRow:
    """One stored list: ``base[:keep] + added``."""

    checkpoint_id: str
    list: str
    base_checkpoint_id: str | None
    base_list: str | None
    keep: int
    added: bytes  # concatenated hashes
    pos: int = 0  # position in the chain of predecessors

    @property
    def key(self) -> tuple[str, str]:
        return (self.checkpoint_id, self.list)

    @property
    def base_key(self) -> tuple[str, str] | None:
        if self.base_checkpoint_id is None or self.base_list is None:
            return None
        return (self.base_checkpoint_id, self.base_list)


class ListStore:
    """Materialised lists of one trace, for encoding new lists and decoding stored ones.

    A list is held as a `Prefix`: lists that extend one another share one hash list, so a
    run of n checkpoints holds O(n) hashes, not O(n^2), and their common prefix is found
    without comparing them.
    """

    def __init__(self, rows: Iterable[ListRow] = ()) -> None:
        self.rows: dict[tuple[str, str], ListRow] = {r.key: r for r in rows}
        self._values: dict[tuple[str, str], Prefix] = {}
        # (id, id) of two hash lists -> both lists (keeping their ids valid), their common
        # prefix as far as compared, and whether they differ right after it
        self._shared: dict[tuple[int, int], tuple[list[bytes], list[bytes], int, bool]] = {}

    def value(self, key: tuple[str, str]) -> list[bytes]:
        """The full hash list of a stored list."""
        return self._view(key).as_list()

    def _view(self, key: tuple[str, str]) -> Prefix:
        """A stored list as a Prefix (iterative: no recursion limit)."""
        if key in self._values:
            return self._values[key]
        chain = []
        cursor: tuple[str, str] | None = key
        while cursor is not None and cursor not in self._values:
            row = self.rows.get(cursor)
            if row is None:
                raise KeyError(f"list {cursor} is missing from the checkpoint store")
            chain.append(row)
            cursor = row.base_key
        for row in reversed(chain):
            added = split_hashes(row.added)
            if row.base_key is None:
                self._values[row.key] = Prefix(_Tape(added), len(added))
            else:
                self._values[row.key] = _extended(self._values[row.base_key], row.keep, added)
        return self._values[key]

    def _common(self, a: Prefix, b: Prefix) -> int:
        """The length of the common prefix of two lists; lists that share their hash list
        take no comparison, others only compare what they have not compared before."""
        limit = min(a.length, b.length)
        if a.items is b.items:
            return limit
        key = (id(a.items), id(b.items)) if id(a.items) < id(b.items) else (id(b.items), id(a.items))
        known = self._shared.get(key)
        n, differ = (known[2], known[3]) if known else (0, False)
        if not differ and n < limit:
            n = common_prefix(a.items, b.items, n, limit)
            self._shared[key] = (a.items, b.items, n, n < limit)
        return min(n, limit)

    def encode(self, checkpoint_id: str, name: str, hashes: Prefix, candidates: Iterable[tuple[str, str]]) -> ListRow:
        """Encode ``hashes`` against the Fenwick ancestor of the best-matching candidate.

        ``hashes`` is kept as it is: its list must only grow from here on."""
        best: tuple[str, str] | None = None
        best_keep = 0
        for cand in candidates:
            if cand not in self.rows:
                continue
            keep = self._common(self._view(cand), hashes)
            if keep > best_keep:
                best, best_keep = cand, keep
        pos = 0
        if best is not None:
            pos = self.rows[best].pos + 1
            target = pos & (pos - 1)  # pos - lowbit(pos)
            while self.rows[best].pos > target and (base := self.rows[best].base_key) is not None:
                best = base
            best_keep = self._common(self._view(best), hashes)
            if best_keep == 0:
                best, pos = None, 0
        row = ListRow(
            checkpoint_id, name, best[0] if best else None, best[1] if best else None, best_keep,
            b"".join(hashes.items[best_keep : hashes.length]), pos,
        )
        self.rows[row.key] = row
        self._values[row.key] = hashes
        return row

    def without(self, checkpoint_id: str) -> list[ListRow]:
        """Re-encode the lists based on ``checkpoint_id``'s lists so it can be deleted.

        ``D = X[:k_d] + a_d`` and ``X = B[:k_x] + a_x`` give
        ``D = B[:min(k_d, k_x)] + a_x[:k_d - k_x] + a_d``; returns the rewritten rows.
        """
        changed = []
        for row in list(self.rows.values()):
            if row.base_checkpoint_id != checkpoint_id or row.checkpoint_id == checkpoint_id:
                continue
            base_key = row.base_key
            assert base_key is not None
            self._view(row.key)
            # follow the chain until the base is outside the deleted checkpoint (lists of one
            # checkpoint may be based on each other)
            while base_key is not None and base_key[0] == checkpoint_id:
                base = self.rows[base_key]
                taken = split_hashes(base.added)[: max(0, row.keep - base.keep)]
                row.added = b"".join(taken) + row.added
                row.keep = min(row.keep, base.keep)
                base_key = base.base_key
                if base_key is None:
                    row.keep = 0
            row.base_checkpoint_id, row.base_list = (base_key if base_key else (None, None))
            changed.append(row)
        for key in [k for k in self.rows if k[0] == checkpoint_id]:
            del self.rows[key]
        return changed


def _extended(base: Prefix, keep: int, added: list[bytes]) -> Prefix:
    """``base[:keep] + added``, on base's list where that list goes on with ``added`` (or
    ends at ``keep`` and was built by the store): the lists of one chain share one list."""
    keep = min(keep, base.length)  # a keep past the base takes all of it, as a slice does
    items, end = base.items, keep + len(added)
    there = items[keep:end]
    if there == added[: len(there)] and (len(there) == len(added) or isinstance(items, _Tape)):
        items.extend(added[len(there):])
        return Prefix(items, end)
    return Prefix(_Tape(items[:keep] + added), end)


def common_prefix(a: list[bytes], b: list[bytes], start: int, stop: int) -> int:
    """The length of the common prefix of ``a[:stop]`` and ``b[:stop]`` (both that long), given
    that they agree before ``start``: slices of doubling size, so a long prefix is compared in C."""
    i, step = start, 8
    while i < stop:
        j = min(i + step, stop)
        if a[i:j] != b[i:j]:
            while a[i] == b[i]:
                i += 1
            return i
        i, step = j, step * 2
    return stop
