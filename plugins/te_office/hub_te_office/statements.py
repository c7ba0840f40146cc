"""Translation of the labour-policy statements (työvoimapoliittinen lausunto) the employment
authority gives Kela or an unemployment fund; their invented names are in :mod:`.mapping`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.model import LabourPolicyStatement
from hub_te_office import mapping as m
from hub_te_office.codec import code_of, coded, copied, required_value

#: canonical value -> native code, per coded field
CODE_OF = {
    "statement": {v: k for k, v in m.STATEMENT_CODES.items()},
    "benefit_type": {v: k for k, v in m.BENEFIT_CODES.items()},
}


def statement_to_canonical(where: str, data: Mapping[str, Any]) -> LabourPolicyStatement:
    """A statement record as the canonical statement; errors name the record ``where``."""
    f = m.STATEMENT_FIELDS
    return LabourPolicyStatement(
        client_hetu=required_value(data, m.PERSON_ID, where),
        issued_on=required_value(data, f["issued_on"], where),
        valid_from=required_value(data, f["valid_from"], where),
        statement=code_of(m.STATEMENT_CODES, data, f["statement"], where),
        benefit_type=code_of(m.BENEFIT_CODES, data, f["benefit_type"], where),
        **copied(data, f, "valid_until", "reason"),
    )


def statement_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    """A native statement; unknown codes and missing fields are left out."""
    return coded(record, m.STATEMENT_FIELDS, CODE_OF)
