"""``hub audit``: the access and disclosure logs — verifying that nothing in them was altered
unseen, and a client's log extract (Act 703/2023 § 11)."""

from __future__ import annotations


def cmd_person(args) -> int:
    """A client's log extract. The identity code is read at a prompt (not echoed) or from
    standard input, never from the command line (argv is visible to every user of the
    machine and kept in shell histories). The CLI holds the master key and could read the
    logs anyway: ``--auditor`` names the store user with the ``auditor`` role on whose behalf
    the logs are read, and the access log records both the login and that auditor."""
    import getpass
    import os
    import sys
    from pathlib import Path

    from hub.audit import extract
    from hub.cli.common import actor, open_hub
    from hub.store import users

    formats = extract.parse_formats(args.format)
    period = extract.Period.parse(args.first, args.last)
    controller = extract.checked_controller(
        args.controller or os.environ.get(extract.CONTROLLER_ENV)
    )
    hub = open_hub()
    with hub.store.transaction() as conn:
        reader = extract.require_auditor(users.get_user(conn, args.auditor), args.auditor)
    if args.stdin:
        code = sys.stdin.readline().rstrip("\r\n")
    else:
        code = getpass.getpass("the client's identity code (not shown): ").strip()
    result = extract.make_extract(
        hub,
        code,
        reader=reader,
        actor=f"{actor()}/{reader.username}",
        period=period,
        controller=controller,
    )
    written = result.write(Path(args.out), formats)
    state = "" if result.known else " (the hub does not know this person: no entries)"
    print(
        f"log extract {result.reference} of {result.person}, {period.label}: "
        f"{len(result.accesses)} accesses, {len(result.disclosures)} disclosures{state}"
    )
    for path in written:
        print(f"written: {path}")
    return 0


def _register_person(audit) -> None:
    from hub.cli.common import leaf

    p = leaf(
        audit,
        "person",
        cmd_person,
        "a client's log extract (Act 703/2023 § 11): who used or received their data, when "
        "and on what basis, as HTML and CSV; the identity code is asked, never an argument",
        False,
    )
    p.add_argument(
        "--auditor",
        required=True,
        metavar="NAME",
        help="the user with the auditor role who reads the logs (hub users add --role "
        "auditor); logged with your login",
    )
    p.add_argument(
        "--from",
        dest="first",
        metavar="DATE",
        help="from this date, YYYY-MM-DD (default two years back)",
    )
    p.add_argument(
        "--to", dest="last", metavar="DATE", help="up to this date, YYYY-MM-DD (default today)"
    )
    p.add_argument("--out", default=".", metavar="DIR", help="write the files here (default .)")
    p.add_argument("--format", default="html,csv", help="html, csv or both (default html,csv)")
    p.add_argument(
        "--controller",
        metavar="NAME",
        help="the controller the extract speaks for (default: the HUB_CONTROLLER setting)",
    )
    p.add_argument(
        "--stdin",
        action="store_true",
        help="read the identity code from standard input instead of a prompt",
    )


def cmd_verify(args) -> int:
    """Recompute the logs' hash chain and check its sealed checkpoints; exit 1 when anything
    was altered, naming where. When all is intact and a seal key is configured, a sealed
    checkpoint is made at the last entry (unless ``--no-checkpoint``)."""
    from hub.audit.verify import verify_store
    from hub.cli.common import open_hub
    from hub.cli.output import print_json

    hub = open_hub()
    try:
        report = verify_store(hub.store, hub.settings.seal_key(), checkpoint=not args.no_checkpoint)
    finally:
        hub.close()
    if args.json:
        print_json(report.as_dict())
    else:
        print(report.summary())
    return 0 if report.intact else 1


def _register_verify(audit) -> None:
    from hub.cli.common import leaf

    v = leaf(
        audit,
        "verify",
        cmd_verify,
        "check that no access or disclosure log entry was deleted, edited, inserted or moved "
        "(the hash chain and its sealed checkpoints); exit 1 when one was, naming where",
    )
    v.add_argument(
        "--no-checkpoint",
        action="store_true",
        help="only verify: do not seal a checkpoint at the last entry",
    )


def register(sub) -> None:
    from hub.cli.common import group

    audit = group(sub, "audit", "the access and disclosure logs")
    # -- hub audit verify: registered below this line --------------------------------------
    _register_verify(audit)
    # -- hub audit person: registered below this line --------------------------------------
    _register_person(audit)
    del audit
