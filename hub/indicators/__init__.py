"""Indicators per practice model, safe to publish release after release.

The figures (:class:`~hub.model.IndicatorCode`) are computed from the canonical records the
hub holds, counting people, not episodes (:mod:`~hub.indicators.people`,
:mod:`~hub.indicators.cells`), per practice model and period, for all municipalities and
for each. Statistical disclosure control follows the practice of official statistics for
frequency and magnitude tables (Hundepool et al., *Statistical Disclosure Control*, Wiley
2012, and the ESSnet Handbook on SDC, ch. 4–5; the output-checking rules of the Handbook on
Statistical Disclosure Control for Outputs, 2019: threshold, class disclosure, differencing):

1. **threshold rule** — no count of 1–4 people, no figure on fewer than 5 people, no share or
   rate whose part or rest is 0–4 people (no 0 % or 100 % of a group) — primary suppression
   (:mod:`~hub.indicators.control`);
2. **one mark** — every withheld figure is published as ``"x"``, whatever the reason, so a
   reader cannot tell a small count from a secondary suppression (:mod:`hub.model.practice`);
3. **secondary suppression verified by an audit with bounds** — the relations between the
   figures (:mod:`~hub.indicators.relations`) are solved exactly and as an integer program
   with the bounds a reader knows (HiGHS), and more figures withheld until no withheld one
   can be pinned to one value, no count of 1–4 people can be, and no withheld ones add up to
   a group of 1–4 (:mod:`~hub.indicators.audit`, :mod:`~hub.indicators.control`);
4. **release policy against differencing** — a period is published once, when it is closed
   and final; a revision only when every figure's change against every earlier release rests
   on no one or on at least 5 people and no count of people moved by 1–4
   (:mod:`~hub.indicators.release`).

Only the aggregates leave :func:`publish`; people appear in it only as opaque tokens.
"""

from hub.indicators.people import Inputs
from hub.indicators.periods import Policy
from hub.indicators.preview import CellView, FamilyView
from hub.indicators.release import FamilyKey, Publication, Release, native_id, publish

__all__ = [
    "CellView",
    "FamilyKey",
    "FamilyView",
    "Inputs",
    "Policy",
    "Publication",
    "Release",
    "native_id",
    "publish",
]
