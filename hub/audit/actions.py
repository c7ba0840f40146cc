"""THL's action codes for the access and disclosure logs (code set 1.2.246.537.6.3302,
*Käyttölokin käyttäjätoiminto*, mapped to ISO/TS 21089).

The hub's own action names (``receive``, ``read``, ``reveal``, ``aggregate``, ``derive``,
``reconcile``, ``disclose``, ``extract``: a client's log extract made, ``log_read``: logs read
by an auditor) are mapped to codes by the ``hub_actions`` of the shipped code list
``schemas/codelists/log-actions.json``. Its codes are provisional until checked against THL's
code server (the file says ``"verified": false``): the mapping lives in the file, not here,
so that correcting it touches no code.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from hub.codelists import FOLDER, LOG_ACTIONS, codelist
from hub.errors import ConfigError, HubError
from hub.resources import PackagedFile

#: the file holding the list and the hub's mapping to it
FILE = PackagedFile("hub", *FOLDER, "log-actions.json")
#: the action of a disclosure (the disclosure log has no action column of its own)
DISCLOSE = "disclose"


@dataclass(frozen=True)
class ActionCode:
    action: str
    code: str
    name: str
    iso_21089: str
    verified: bool


@functools.cache
def mapping() -> Mapping[str, ActionCode]:
    """Every action the hub logs, with its code (ConfigError if the file is inconsistent)."""
    codes = codelist(LOG_ACTIONS)
    raw = FILE.read_json().get("hub_actions")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{FILE.label}: hub_actions must map each action to its code")
    out = {}
    for action, entry in raw.items():
        code = entry.get("code") if isinstance(entry, dict) else None
        if code not in codes:
            raise ConfigError(
                f"{FILE.label}: hub_actions.{action}: {code!r} is not a code of {codes.label}"
            )
        out[action] = ActionCode(
            action,
            code,
            codes.name_of(code) or code,
            str(entry.get("iso_21089") or ""),
            entry.get("verified") is True,
        )
    return out


def code_for(action: str) -> str:
    """The THL action code of ``action``; a HubError naming the known actions otherwise."""
    found = mapping().get(action)
    if found is None:
        known = ", ".join(sorted(mapping()))
        raise HubError(
            f"the access log has no action {action!r} (known: {known}; the codes are in "
            f"{FILE.label})"
        )
    return found.code
