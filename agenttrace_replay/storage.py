"""Content-addressed state storage: hashing values and delta-encoding lists of hashes.

A state is a set of named lists of hashes (``messages``, ``input_messages``, ``completed``)
plus single values stored as one-entry lists (``span``, ``agent``, ``input``). A list is
encoded against a *base*, another checkpoint's list: ``base[:keep] + added``. Encoding
picks the base with the longest shared prefix, so a checkpoint stores only what is new;
every ``MAX_DEPTH`` links a list is stored whole, which bounds the work of a restore.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

HASH_SIZE = 16
MAX_DEPTH = 64


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: Any) -> bytes:
    return hashlib.blake2b(canonical(value).encode(), digest_size=HASH_SIZE).digest()


def split_hashes(packed: bytes) -> list[bytes]:
    return [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]


@dataclass
class ListRow:
    """One stored list: ``base[:keep] + added``."""

    checkpoint_id: str
    list: str
    base_checkpoint_id: str | None
    base_list: str | None
    keep: int
    added: bytes  # concatenated hashes

    @property
    def key(self) -> tuple[str, str]:
        return (self.checkpoint_id, self.list)

    @property
    def base_key(self) -> tuple[str, str] | None:
        if self.base_checkpoint_id is None or self.base_list is None:
            return None
        return (self.base_checkpoint_id, self.base_list)


class ListStore:
    """Materialised lists of one trace, for encoding new lists and decoding stored ones."""

    def __init__(self, rows: Iterable[ListRow] = ()) -> None:
        self.rows: dict[tuple[str, str], ListRow] = {r.key: r for r in rows}
        self._values: dict[tuple[str, str], list[bytes]] = {}
        self._depth: dict[tuple[str, str], int] = {}

    def value(self, key: tuple[str, str]) -> list[bytes]:
        """The full hash list of a stored list (iterative: no recursion limit)."""
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
            base = self._values[row.base_key][: row.keep] if row.base_key else []
            self._values[row.key] = base + split_hashes(row.added)
            self._depth[row.key] = self._depth[row.base_key] + 1 if row.base_key else 0
        return self._values[key]

    def depth(self, key: tuple[str, str]) -> int:
        self.value(key)
        return self._depth[key]

    def encode(self, checkpoint_id: str, name: str, hashes: list[bytes], candidates: Iterable[tuple[str, str]]) -> ListRow:
        """Encode ``hashes`` against whichever candidate list shares the longest prefix."""
        best: tuple[str, str] | None = None
        best_keep = 0
        for cand in candidates:
            if cand not in self.rows or self.depth(cand) >= MAX_DEPTH:
                continue
            keep = common_prefix(self.value(cand), hashes)
            if keep > best_keep:
                best, best_keep = cand, keep
        added = b"".join(hashes[best_keep:])
        row = ListRow(checkpoint_id, name, best[0] if best else None, best[1] if best else None, best_keep, added)
        self.rows[row.key] = row
        self._values[row.key] = hashes
        self._depth[row.key] = self._depth[best] + 1 if best else 0
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
            self.value(row.key)
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


def common_prefix(a: list[bytes], b: list[bytes]) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
