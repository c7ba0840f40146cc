"""The state a run of a shipped exchange ends in on the shipped sandboxes (seed 1, 60
people): ``success_with_failures`` when its source holds records that fail on purpose, so a
test asserts exactly the state the data calls for, never "either"."""

from hub.store.runs import SUCCESS, SUCCESS_WITH_FAILURES

#: exchanges whose first read of the sandboxes' data leaves dead letters: the employment
#: authority's deliberate rule breakers (five days a week of KTT, validate), and the county's
#: attendance above the decided days a week, which waits for an operator's choice before it
#: goes to Kela (disclose; once the county's decisions are in the hub)
WITH_FAILED_RECORDS = frozenset({"employment_authority_to_county", "county_to_kela"})


def first_run_state(exchange: str) -> str:
    """The state of the first run of ``exchange`` (its source read from the start)."""
    return SUCCESS_WITH_FAILURES if exchange in WITH_FAILED_RECORDS else SUCCESS


#: the fault suite's sources (tests/faults/, named by adapter) whose sandbox data holds
#: records that fail on purpose: the employment authority's rule breakers, on every read
RULE_BREAKING_SOURCES = frozenset({"te_office"})


def whole_read_state(system: str) -> str:
    """The state of a fault-suite run that read ``system`` whole with none of its records
    broken by the scenario: ``success_with_failures`` for a source with rule breakers."""
    return SUCCESS_WITH_FAILURES if system in RULE_BREAKING_SOURCES else SUCCESS
