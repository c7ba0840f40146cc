"""``hub audit``: the access and disclosure logs — verifying that nothing in them was altered
unseen, and a client's log extract (Act 703/2023 § 11)."""

from __future__ import annotations


def register(sub) -> None:
    from hub.cli.common import group

    audit = group(sub, "audit", "the access and disclosure logs")
    # -- hub audit verify: registered below this line --------------------------------------
    # -- hub audit person: registered below this line --------------------------------------
    del audit
