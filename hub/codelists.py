"""The code lists the hub ships as data: ``schemas/codelists/*.json`` of the ``hub`` package.

Each file is one code list of THL's code server (koodistopalvelu.kanta.fi, REST
``…/csapi/v6/classifications/{OID}/conceptcodes``), reduced to what the hub uses, or one of
the hub's own where no national list exists (``"oid": null``: interruption reasons)::

    {"oid": "1.2.246.537.6.21", "name": "...", "short_name": "municipalities",
     "version": "...", "retrieved": "2026-01-31" or null, "source": "<the csapi URL>",
     "notice": "how the list was made, what to verify",
     "codes": [{"code": "049", "name_fi": "Espoo", "name_sv": "Esbo",
                "valid_from": "...", "valid_to": "..."}, ...],
     "to_verify": [...entries the hub needs whose codes are not yet known...]}

A code may also give the free-text ``terms_fi`` and ``terms_sv`` that mean it (what source
systems write instead of the code; its names count too: :meth:`CodeList.code_of_text`) and
the ``system_codes`` of source systems (``{"municipal": "TERVEYS"}``).

The files are package data (the wheel carries every file under ``hub/``) found through
:mod:`importlib.resources`. Every file of the folder is read once per process, when a list is
first asked for; a list is found by its OID or short name (:func:`codelist`). A file that
breaks this form is a :class:`~hub.errors.ConfigError` naming it. A list is replaced by
dropping in a newer file with the same keys: no code names a code.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.errors import ConfigError
from hub.resources import PackagedFile

if TYPE_CHECKING:
    from hub.model.entities import InterruptionReason

#: where the code lists are, below the ``hub`` package
FOLDER = ("schemas", "codelists")
#: the OIDs of the lists the hub uses
MUNICIPALITIES = "1.2.246.537.6.21"
SERVICE_TASKS = "1.2.246.537.6.1221"
SERVICE_PROCESSES = "1.2.246.537.6.1277"
#: THL - Käyttölokin käyttäjätoiminto: the action codes of the access and disclosure logs
LOG_ACTIONS = "1.2.246.537.6.3302"
#: the hub's own list of why a service episode was interrupted (no national list exists)
INTERRUPTION_REASONS = "interruption_reasons"


@dataclass(frozen=True)
class Code:
    code: str
    name_fi: str
    name_sv: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    #: free text meaning the code, besides its names, in Finnish and in Swedish
    terms_fi: tuple[str, ...] = ()
    terms_sv: tuple[str, ...] = ()
    #: (system, the system's own code) of the source systems that code it their way
    system_codes: tuple[tuple[str, str], ...] = ()

    @property
    def current(self) -> bool:
        """Not ended: the list's current codes have no end date."""
        return self.valid_to is None


@dataclass(frozen=True)
class CodeList:
    #: None for one of the hub's own lists, which no code server publishes
    oid: str | None
    name: str
    short_name: str
    version: str | None
    retrieved: dt.date | None
    source: str
    notice: str
    codes: Mapping[str, Code]
    #: entries the hub needs whose codes are still to be found (as the file gives them)
    to_verify: tuple[Mapping[str, Any], ...] = ()
    file: str = ""
    _current: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    #: every name and term of the codes, normalised (:func:`normalise`) -> code
    _texts: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes.values())

    def __len__(self) -> int:
        return len(self.codes)

    def get(self, code: str) -> Code | None:
        return self.codes.get(code)

    def name_of(self, code: str, language: str = "fi") -> str | None:
        """The code's name in ``language`` (``fi`` or ``sv``; Swedish falls back to Finnish)."""
        found = self.codes.get(code)
        if found is None:
            return None
        return (found.name_sv or found.name_fi) if language == "sv" else found.name_fi

    @property
    def current_codes(self) -> frozenset[str]:
        """The codes in force (no end date): what a canonical record may hold."""
        return self._current

    def code_of_text(self, text: str | None) -> Code | None:
        r"""The code a free text means: the text equals one of a code's names or terms in
        Finnish or Swedish once both are :func:`normalise`\ d (case, whitespace and
        punctuation do not count); None for any other text."""
        found = self._texts.get(normalise(text)) if text else None
        return self.codes[found] if found is not None else None

    def system_codes(self, system: str) -> dict[str, str]:
        """``system``'s own codes -> the list's codes (as the file gives them)."""
        return {native: c.code for c in self for s, native in c.system_codes if s == system}

    @property
    def label(self) -> str:
        """The list named in messages: ``THL code list 1.2.246.537.6.21 (municipalities)``,
        or ``the hub's code list interruption_reasons`` for one of the hub's own."""
        if self.oid is None:
            return f"the hub's code list {self.short_name}"
        return f"THL code list {self.oid} ({self.short_name})"


def normalise(text: str) -> str:
    """``text`` as free texts are compared: Unicode-normalised (NFKC), case-folded, every
    punctuation mark or symbol a space, runs of whitespace one space, none at the ends."""
    text = unicodedata.normalize("NFKC", text).casefold()
    kept = (" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    return " ".join("".join(kept).split())


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: not a date (YYYY-MM-DD): {value!r}") from None


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value


def parse(data: Any, where: str) -> CodeList:
    """A code list from the parsed JSON of a file (``where`` names it in errors)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a code list is a JSON object")
    items = data.get("codes")
    if not isinstance(items, list):
        raise ConfigError(f"{where}: codes must be a list")
    codes: dict[str, Code] = {}
    for n, item in enumerate(items):
        at = f"{where}: codes[{n}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: not an object")
        unknown = set(item) - _CODE_KEYS
        if unknown:
            raise ConfigError(f"{at}: unknown keys {sorted(unknown)}")
        code = _text(item, "code", at)
        if code in codes:
            raise ConfigError(f"{at}: code {code} is given twice")
        codes[code] = Code(
            code=code,
            name_fi=_text(item, "name_fi", at),
            name_sv=_text(item, "name_sv", at, required=False),
            valid_from=_date(item.get("valid_from"), f"{at}: valid_from"),
            valid_to=_date(item.get("valid_to"), f"{at}: valid_to"),
            terms_fi=_texts(item, "terms_fi", at),
            terms_sv=_texts(item, "terms_sv", at),
            system_codes=tuple(_system_codes(item, at)),
        )
    to_verify = data.get("to_verify", [])
    if not isinstance(to_verify, list) or not all(isinstance(e, dict) for e in to_verify):
        raise ConfigError(f"{where}: to_verify must be a list of objects")
    oid = data.get("oid")
    return CodeList(
        oid=None if oid is None else _text(data, "oid", where),
        name=_text(data, "name", where),
        short_name=_text(data, "short_name", where),
        version=_text(data, "version", where, required=False),
        retrieved=_date(data.get("retrieved"), f"{where}: retrieved"),
        source=_text(data, "source", where),
        notice=_text(data, "notice", where, required=False) or "",
        codes=codes,
        to_verify=tuple(to_verify),
        file=where,
        _current=frozenset(c.code for c in codes.values() if c.current),
        _texts=_text_index(codes, where),
    )


_CODE_KEYS = {
    "code",
    "name_fi",
    "name_sv",
    "valid_from",
    "valid_to",
    "terms_fi",
    "terms_sv",
    "system_codes",
}


def _texts(item: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise ConfigError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(value)


def _system_codes(item: Mapping[str, Any], where: str) -> Iterator[tuple[str, str]]:
    value = item.get("system_codes", {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: system_codes must map a system to its code")
    for system, native in value.items():
        if not isinstance(native, str) or not native.strip():
            raise ConfigError(f"{where}: system_codes.{system} must be a non-empty string")
        yield system, native


def _text_index(codes: Mapping[str, Code], where: str) -> dict[str, str]:
    """Every normalised name and term -> its code; a text meaning two codes, or a system's
    code given to two, is a ConfigError naming both."""
    index: dict[str, str] = {}
    natives: dict[tuple[str, str], str] = {}
    for c in codes.values():
        for text in (c.name_fi, c.name_sv or c.name_fi, *c.terms_fi, *c.terms_sv):
            key = normalise(text)
            if index.setdefault(key, c.code) != c.code:
                raise ConfigError(f"{where}: {text!r} means both {index[key]} and {c.code}")
        for pair in c.system_codes:
            if natives.setdefault(pair, c.code) != c.code:
                raise ConfigError(
                    f"{where}: {pair[0]}'s code {pair[1]} is given to both {natives[pair]} "
                    f"and {c.code}"
                )
    return index


def _files() -> list[PackagedFile]:
    folder = importlib.resources.files("hub").joinpath(*FOLDER)
    if not folder.is_dir():
        raise ConfigError(
            f"hub: the packaged folder {'/'.join(FOLDER)} is missing: the installation is "
            f"incomplete; reinstall integration-hub (its wheel carries the code lists)"
        )
    names = sorted(e.name for e in folder.iterdir() if e.name.endswith(".json"))
    return [PackagedFile("hub", *FOLDER, name) for name in names]


@functools.cache
def _index() -> dict[str, CodeList]:
    """Every shipped list, by OID and by short name."""
    found: dict[str, CodeList] = {}
    for packaged in _files():
        cl = parse(packaged.read_json(), packaged.label)
        for key in (cl.oid, cl.short_name):
            if key is None:
                continue
            if key in found:
                raise ConfigError(
                    f"{packaged.label}: {key} is also the key of {found[key].file}: "
                    f"one list per OID and short name"
                )
            found[key] = cl
    return found


def codelist(key: str) -> CodeList:
    """The code list with OID or short name ``key`` (ConfigError naming the known ones)."""
    found = _index().get(key)
    if found is None:
        known = ", ".join(
            f"{c.oid} ({c.short_name})" if c.oid else c.short_name for c in codelists()
        )
        raise ConfigError(f"no code list {key!r} is shipped (shipped: {known})")
    return found


def codelists() -> list[CodeList]:
    """Every shipped code list: THL's by OID, then the hub's own by short name."""
    return sorted(
        {id(c): c for c in _index().values()}.values(),
        key=lambda c: (c.oid is None, c.oid or "", c.short_name),
    )


def interruption_reason(text: str | None) -> InterruptionReason | None:
    """The coded reason (:class:`~hub.model.InterruptionReason`) of a free-text reason why a
    service episode was interrupted, in Finnish or Swedish, by the hub's code list
    ``interruption-reasons.json``: case, whitespace and punctuation do not count. None for
    a text the list does not know (the caller keeps the text; the reason stays uncoded)."""
    from hub.model.entities import InterruptionReason  # the model validates with this module

    found = codelist(INTERRUPTION_REASONS).code_of_text(text)
    return InterruptionReason(found.code) if found is not None else None


def municipality_codes() -> frozenset[str]:
    """The municipality codes in force (THL 1.2.246.537.6.21)."""
    return codelist(MUNICIPALITIES).current_codes


def municipality_option(
    config: Any, many_option: str, one_option: str, meaning: str
) -> tuple[str, ...]:
    """The municipality codes of a system's options (``config``: its
    :class:`~hub.adapter.SystemConfig`): ``many_option`` (a list) or ``one_option`` (one code),
    exactly one of the two, each code three digits and a municipality in force on THL's code
    list, none twice; a :class:`ConfigError` naming the option otherwise. ``meaning`` says
    in the error what the codes are (e.g. "the municipalities whose data the system holds")."""
    where = f"systems.{config.system}.options"
    many = config.options.get(many_option)
    one = config.options.get(one_option)
    if many is not None and one is not None:
        raise ConfigError(
            f"{where}.{many_option}: give either {many_option} (a list) "
            f"or {one_option} (one code), not both"
        )
    if many is None and one is None:
        raise ConfigError(
            f"{where}.{many_option}: required: the three-digit codes of {meaning} "
            f"(or {one_option}: one code)"
        )
    name = many_option if many is not None else one_option
    codes = many if many is not None else [one]
    if not isinstance(codes, list | tuple) or not codes:
        raise ConfigError(f"{where}.{name}: a list of three-digit municipality codes is required")
    codes = [str(c) if type(c) is int else c for c in codes]  # 743 unquoted in YAML
    for code in codes:
        if not isinstance(code, str) or not re.fullmatch(r"\d{3}", code, re.ASCII):
            raise ConfigError(
                f"{where}.{name}: {code!r} is not a three-digit municipality code (quote it: "
                '"005", not 005)'
            )
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{where}.{name}: a municipality code is given twice")
    municipalities = codelist(MUNICIPALITIES)
    for code in codes:
        if code not in municipalities.current_codes:
            found = municipalities.get(code)
            why = f"ended on {found.valid_to}" if found and found.valid_to else "not in it"
            raise ConfigError(
                f"{where}.{name}: {code} is not a municipality of {municipalities.label} "
                f"({why}; the list is shipped in hub/schemas/codelists/)"
            )
    return tuple(codes)
