"""Product options edited as rows in the studio form (not a mini-syntax).

The form posts structured fields, one option per index and one value per sub-index:

    opt-<i>-label, opt-<i>-kind ("choice" | "text"), opt-<i>-required ("on"),
    opt-<i>-max_length (text options), opt-<i>-value-<j>-label, opt-<i>-value-<j>-delta

Indices only order the rows (the page's "Add option"/"Add value" buttons number new rows
upwards and removed rows simply leave gaps). A row whose label and values are all blank is
ignored, so the spare row the page always shows costs nothing. Errors are attached to the
row that has them, in the reader's language; the service validates again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from commerce.models import OptionKind, Product

MAX_OPTIONS = 20
MAX_VALUES = 30
MAX_TEXT_LENGTH = 500
_LABEL = re.compile(r"^opt-(\d+)-label$")
_VALUE = re.compile(r"^opt-(\d+)-value-(\d+)-label$")


@dataclass
class ValueRow:
    index: int
    label: str = ""
    delta: str = ""
    error: str = ""


@dataclass
class OptionRow:
    index: int
    label: str = ""
    kind: str = OptionKind.CHOICE
    required: bool = False
    max_length: str = ""
    values: list[ValueRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def next_value_index(self) -> int:
        return max((v.index for v in self.values), default=-1) + 1

    @property
    def blank(self) -> bool:
        return not self.label and not any(v.label or v.delta for v in self.values)


def rows_from_product(product: Product | None) -> list[OptionRow]:
    if product is None:
        return []
    rows = []
    for i, option in enumerate(product.options.prefetch_related("values")):
        rows.append(
            OptionRow(
                index=i,
                label=option.label,
                kind=option.kind,
                required=option.required,
                max_length=str(option.max_length or ""),
                values=[
                    ValueRow(index=j, label=v.label, delta=str(v.price_delta))
                    for j, v in enumerate(option.values.all())
                ],
            )
        )
    return rows


def with_spare_row(rows: list[OptionRow]) -> list[OptionRow]:
    """The rows plus one empty option (with two empty values) to fill in without JS."""
    index = max((r.index for r in rows), default=-1) + 1
    spare = OptionRow(index=index, values=[ValueRow(index=0), ValueRow(index=1)])
    return [*rows, spare]


def rows_from_post(data: Any) -> list[OptionRow]:
    """The posted rows in page order (blank ones dropped), not yet validated."""
    rows: dict[int, OptionRow] = {}
    for key in data:
        match = _LABEL.match(key)
        if match:
            i = int(match.group(1))
            rows[i] = OptionRow(
                index=i,
                label=str(data.get(key, "")).strip(),
                kind=str(data.get(f"opt-{i}-kind", OptionKind.CHOICE)),
                required=data.get(f"opt-{i}-required") in ("on", "true", "1"),
                max_length=str(data.get(f"opt-{i}-max_length", "")).strip(),
            )
    for key in data:
        match = _VALUE.match(key)
        if match and int(match.group(1)) in rows:
            i, j = int(match.group(1)), int(match.group(2))
            rows[i].values.append(
                ValueRow(
                    index=j,
                    label=str(data.get(key, "")).strip(),
                    delta=str(data.get(f"opt-{i}-value-{j}-delta", "")).strip(),
                )
            )
    ordered = [rows[i] for i in sorted(rows)]
    for row in ordered:
        row.values.sort(key=lambda v: v.index)
    return [row for row in ordered if not row.blank]


def validate_rows(rows: list[OptionRow]) -> tuple[list[Any], bool]:
    """OptionInputs for the service, and whether every row is valid (errors set on rows)."""
    from commerce.services import ChoiceInput, OptionInput

    options: list[Any] = []
    ok = True
    seen: set[str] = set()
    if len(rows) > MAX_OPTIONS:
        rows[-1].errors.append(_("At most %(n)s options per piece.") % {"n": MAX_OPTIONS})
        ok = False
    for row in rows:
        if not row.label:
            row.errors.append(_("Give this option a name."))
        elif row.label.casefold() in seen:
            row.errors.append(_("Two options have the same name."))
        seen.add(row.label.casefold())
        if row.kind not in OptionKind.values:
            row.errors.append(_("Choose the kind of option."))
        choices = []
        if row.kind == OptionKind.TEXT:
            length = row.max_length or "0"
            if not length.isdigit() or not 1 <= int(length) <= MAX_TEXT_LENGTH:
                row.errors.append(
                    _("Maximum length is a whole number from 1 to %(n)s.") % {"n": MAX_TEXT_LENGTH}
                )
        else:
            values = [v for v in row.values if v.label or v.delta]
            if not values:
                row.errors.append(_("Add at least one value to choose from."))
            if len(values) > MAX_VALUES:
                row.errors.append(_("At most %(n)s values per option.") % {"n": MAX_VALUES})
            labels: set[str] = set()
            for value in values:
                try:
                    delta = Decimal(value.delta.replace(",", ".").lstrip("+") or "0")
                except InvalidOperation:
                    value.error = _("Enter a price change like 5.00 or -2.50.")
                    delta = Decimal("0")
                if not value.label:
                    value.error = value.error or _("Give this value a name.")
                elif value.label.casefold() in labels:
                    value.error = _("This value appears twice.")
                labels.add(value.label.casefold())
                if not delta.is_finite() or abs(delta) >= Decimal("1000000"):
                    value.error = _("Enter a price change like 5.00 or -2.50.")
                choices.append(ChoiceInput(label=value.label, price_delta=str(delta)))
            if any(v.error for v in values):
                ok = False
        if row.errors:
            ok = False
            continue
        options.append(
            OptionInput(
                kind=row.kind,
                label=row.label[:80],
                required=row.required,
                max_length=int(row.max_length) if row.kind == OptionKind.TEXT else None,
                choices=tuple(choices),
            )
        )
    return options, ok
