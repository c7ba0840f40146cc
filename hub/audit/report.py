"""What a verification of the logs found (:mod:`hub.audit.verify`): each difference a
:class:`Problem` naming the table, the row, the chain entry and what differs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from hub.audit.chain import GENESIS

#: rows fetched at a time while a table is streamed
_BATCH = 2000


@dataclass(frozen=True)
class Problem:
    table: str
    row_id: int | None
    seq: int | None
    what: str

    def __str__(self) -> str:
        where = self.table if self.row_id is None else f"{self.table} row {self.row_id}"
        if self.seq is not None:
            where += f" (chain seq {self.seq})"
        return f"{where}: {self.what}"

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "row_id": self.row_id, "seq": self.seq, "what": self.what}


@dataclass
class Report:
    entries: int = 0
    first_seq: int | None = None
    head_seq: int = 0
    head_hash: bytes = GENESIS
    #: whether a seal key was configured (checkpoints could be checked and made)
    sealed: bool = False
    checkpoints_checked: int = 0
    checkpoints_unchecked: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the checkpoint this verification made: seq and time
    checkpoint_made: dict[str, Any] | None = None
    _seen: set[tuple[str, int]] = field(default_factory=set, repr=False)

    @property
    def intact(self) -> bool:
        return not self.problems

    def problem(self, table: str, row_id: int | None, seq: int | None, what: str) -> None:
        """Record a problem; a row already named is named once (its first finding)."""
        if row_id is not None:
            if (table, row_id) in self._seen:
                return
            self._seen.add((table, row_id))
        self.problems.append(Problem(table, row_id, seq, what))

    def as_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "entries": self.entries,
            "first_seq": self.first_seq,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash.hex(),
            "sealed": self.sealed,
            "checkpoints_checked": self.checkpoints_checked,
            "checkpoints_unchecked": self.checkpoints_unchecked,
            "checkpoint_made": self.checkpoint_made,
            "problems": [p.as_dict() for p in self.problems],
            "warnings": self.warnings,
        }

    def summary(self) -> str:
        """A few lines for a person (the command line, an alert)."""
        span = f"seq {self.first_seq}–{self.head_seq}" if self.entries else "none yet"
        lines = []
        if self.intact:
            lines.append(
                f"the access and disclosure logs are intact: {self.entries} chain entries ({span})"
            )
        else:
            lines.append(
                f"TAMPERING DETECTED in the access and disclosure logs: {len(self.problems)} "
                f"problem(s) over {self.entries} chain entries ({span})"
            )
            lines.extend(f"  - {p}" for p in self.problems)
        if not self.sealed:
            lines.append(
                "checkpoints: UNSEALED: no seal key is configured (HUB_AUDIT_SEAL_KEY or "
                "HUB_AUDIT_SEAL_KEY_FILE), so no checkpoint was checked or made and a chain "
                "rewritten as a whole would go unseen"
            )
        else:
            lines.append(
                f"checkpoints: {self.checkpoints_checked} sealed and verified"
                + (
                    f", {self.checkpoints_unchecked} not checked"
                    if self.checkpoints_unchecked
                    else ""
                )
            )
        if self.checkpoint_made:
            lines.append(
                f"a sealed checkpoint was made at seq {self.checkpoint_made['seq']} "
                f"({self.checkpoint_made['at']})"
            )
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def stream(conn: Connection, statement) -> Iterable[Any]:
    return conn.execute(statement.execution_options(yield_per=_BATCH))
