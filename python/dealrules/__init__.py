"""dealrules: run risk rules over financial deals and read explained findings.

    >>> import dealrules
    >>> engine = dealrules.Engine.load(["rules", "examples"])
    >>> report = engine.evaluate(params={"customer_concentration.high_share": "50%"})
    >>> report.findings[0].rule
    'circular_flow'

Findings are plain objects (dataclasses) that mirror the JSON report of
``dealrules run --format json``; money, quantities, numbers and percentages
are ``decimal.Decimal``, never floats. Input that does not load or check
raises :class:`LoadError` with every diagnostic.
"""

from __future__ import annotations

from decimal import Decimal
from os import PathLike, fspath
from typing import Iterable, Mapping, Optional, Union

from dealrules._native import LoadFailure as _LoadFailure
from dealrules._native import NativeEngine as _NativeEngine
from dealrules._report import (
    Aggregate,
    Binding,
    Chain,
    Counted,
    DataGap,
    Diagnostic,
    Element,
    EvalError,
    FactRef,
    Finding,
    Hop,
    Label,
    Location,
    Matches,
    Missing,
    Money,
    Name,
    Operand,
    Percent,
    Quantity,
    Report,
    Summary,
    Timestamp,
    TraceStep,
    Conversion,
    diagnostics_from_json,
)

__all__ = [
    "Aggregate",
    "Binding",
    "Chain",
    "Conversion",
    "Counted",
    "DataGap",
    "Diagnostic",
    "Element",
    "Engine",
    "EvalError",
    "FactRef",
    "Finding",
    "Hop",
    "Label",
    "LoadError",
    "Location",
    "Matches",
    "Missing",
    "Money",
    "Name",
    "Operand",
    "Percent",
    "Quantity",
    "Report",
    "Summary",
    "Timestamp",
    "TraceStep",
]

ParamValue = Union[str, int, Decimal]


class LoadError(Exception):
    """Input that could not be loaded or checked.

    ``str(error)`` is every diagnostic rendered as ``dealrules`` prints it;
    ``error.diagnostics`` is the list of :class:`Diagnostic` (code, level,
    message, file, line, column, labels, help), errors and warnings, sorted by
    file and position.
    """

    def __init__(self, message: str, diagnostics: list[Diagnostic]):
        super().__init__(message)
        self.diagnostics = diagnostics

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics that are errors."""
        return [d for d in self.diagnostics if d.level == "error"]


def _raise_load_error(failure: _LoadFailure) -> LoadError:
    text, diagnostics = failure.args
    return LoadError(text, diagnostics_from_json(diagnostics))


def _param_text(target: str, value: ParamValue) -> str:
    # bool is an int in Python: `True` would read as a name, not a boolean.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, Decimal)):
        return str(value)
    raise TypeError(
        f"parameter `{target}`: give the value as a str written as in a deal file "
        f"(`5`, `20%`, `10B USD`), an int or a decimal.Decimal, not {type(value).__name__}"
    )


class Engine:
    """Loaded rules and facts. Evaluating does not change the engine."""

    def __init__(self, native: _NativeEngine):
        self._native = native

    @classmethod
    def load(cls, paths: Union[str, PathLike, Iterable[Union[str, PathLike]]]) -> "Engine":
        """Loads ``.deals`` and ``.rules`` files and folders (searched recursively,
        in name order), and ``.csv`` and ``.json`` fact tables named one by one,
        as ``dealrules run PATHS`` does. File names in findings are the paths as
        given (``rules/flows.rules``).

        Raises :class:`LoadError` with every diagnostic when a path or a file is bad.
        """
        if isinstance(paths, (str, PathLike)):
            paths = [paths]
        try:
            return cls(_NativeEngine.load([fspath(p) for p in paths]))
        except _LoadFailure as failure:
            raise _raise_load_error(failure) from None

    @classmethod
    def from_text(cls, sources: Mapping[str, str]) -> "Engine":
        """Loads texts by file name: ``{"deals.deals": "...", "my.rules": "..."}``.
        The extension of each name says how it is read (``.csv`` and ``.json``
        are fact tables); the name is the file of every location in it.

        Raises :class:`LoadError` with every diagnostic of every text.
        """
        try:
            return cls(_NativeEngine.from_texts(list(sources.items())))
        except _LoadFailure as failure:
            raise _raise_load_error(failure) from None

    def evaluate(
        self,
        params: Optional[Mapping[str, ParamValue]] = None,
        jobs: Optional[int] = None,
    ) -> Report:
        """Evaluates every rule and returns the :class:`Report`.

        ``params`` overrides rule parameters for this evaluation, as ``--set``
        does: ``{"customer_concentration.high_share": "50%"}``; values are
        written as in a deal file (a str, an int or a Decimal). ``jobs`` is the
        number of threads (one per core by default); the report is the same.

        Raises :class:`LoadError` when the facts or rules do not check, or a
        parameter names no loaded rule or parameter; ``ValueError`` for a
        parameter that is not ``rule.param`` or a value that does not read.
        """
        pairs = [(k, _param_text(k, v)) for k, v in (params or {}).items()]
        try:
            report, warnings = self._native.evaluate(pairs, jobs)
        except _LoadFailure as failure:
            raise _raise_load_error(failure) from None
        return Report.from_json(report, diagnostics_from_json(warnings))

    def check(self) -> list[Diagnostic]:
        """Checks the facts against the schema and the rules without evaluating,
        as ``dealrules check`` does: every error and warning, sorted by file and
        position."""
        return diagnostics_from_json(self._native.check())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dealrules")
    except PackageNotFoundError:
        return "unknown"


__version__ = _version()
