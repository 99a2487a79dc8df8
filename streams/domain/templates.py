"""Message templates of the régua: pt-BR text with ``{field}`` placeholders for the imported debt.

Pure. A template is checked when the tenant configuration is applied, never first at send time:
an unknown field, a format spec (``{amount:>10}``), an attribute or index (``{name.upper}``),
an unbalanced brace, or a template that could render empty is an error then.

Fields (what a debtor reads, formatted the Brazilian way by streams/domain/formatting.py):

    name          the debtor's name as imported             always present
    first_name    the first word of the name, capitalized   always present
    amount        ``R$ 1.234,56``                            always present
    due_date      ``DD/MM/YYYY``                             always present
    due_relative  ``vence hoje``, ``venceu há 2 dias``...    always present
                  (seen from the day the message goes out, in the debtor's time zone)
    company       the tenant's display name                  always present
    invoice_id    the creditor's id for the debt             optional
    description   free text about the debt                   optional
    pix_code      Pix copy-and-paste code                    optional
    boleto_line   boleto digitable line                      optional
    payment_url   link to a payment page                     optional

An optional field can be missing for one client (an import without Pix codes). Rule: a line of
the template that mentions an optional field the client lacks is left out of that client's
message, whole, so nothing reads "Pix: " with nothing after it. Hence a template must have at
least one non-blank line that uses no optional field; otherwise a client lacking them would get
an empty message, and applying the configuration fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Final

from streams.domain.errors import TemplateError

REQUIRED_FIELDS: Final = (
    "name",
    "first_name",
    "amount",
    "due_date",
    "due_relative",
    "company",
)
OPTIONAL_FIELDS: Final = ("invoice_id", "description", "pix_code", "boleto_line", "payment_url")
FIELDS: Final = REQUIRED_FIELDS + OPTIONAL_FIELDS
#: WhatsApp accepts far longer texts; a régua message longer than this is a mistake.
MAX_TEMPLATE_CHARS: Final = 4096


@dataclass(frozen=True, slots=True)
class Line:
    """One template line: literal text and fields, alternating (text, field, text, ...)."""

    parts: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.parts[1::2]


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed, checked template."""

    source: str
    lines: tuple[Line, ...]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(name for line in self.lines for name in line.fields)

    def render(self, values: Mapping[str, str | None]) -> str:
        """The message for one client; `values` maps every field to its text or None."""
        out: list[str] = []
        for line in self.lines:
            if any(not values.get(name) for name in line.fields):
                continue
            text = "".join(
                part if i % 2 == 0 else str(values[part]) for i, part in enumerate(line.parts)
            )
            if text.strip() or (out and out[-1].strip()):  # one blank line between paragraphs
                out.append(text)
        return "\n".join(out).strip()


def parse_template(source: str) -> Template:
    """Check `source` and parse it; raises TemplateError saying what is wrong and where."""
    if not source.strip():
        raise TemplateError("the template is empty", "o modelo está vazio")
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError(
            f"the template has {len(source)} characters; at most {MAX_TEMPLATE_CHARS}",
            f"o modelo tem {len(source)} caracteres; o máximo é {MAX_TEMPLATE_CHARS}",
        )
    lines = []
    for number, text in enumerate(source.strip().splitlines(), start=1):
        lines.append(_parse_line(text, number))
    if not any(_always_renders(line) for line in lines):
        optional = sorted({name for line in lines for name in line.fields} & set(OPTIONAL_FIELDS))
        raise TemplateError(
            f"every line uses an optional field ({', '.join(optional)}); a client without "
            "them would get an empty message. Add a line that uses only literal text or "
            f"{', '.join(REQUIRED_FIELDS)}",
            f"toda linha usa um campo opcional ({', '.join(optional)}); um devedor sem eles "
            "receberia uma mensagem vazia. Inclua uma linha só com texto ou com "
            f"{', '.join(REQUIRED_FIELDS)}",
        )
    return Template(source, tuple(lines))


def _always_renders(line: Line) -> bool:
    """The line shows for every client, and shows something."""
    if set(line.fields) & set(OPTIONAL_FIELDS):
        return False
    return bool(line.fields) or bool("".join(line.parts[0::2]).strip())


def _parse_line(text: str, number: int) -> Line:
    try:
        pieces = list(Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(
            f"line {number}: {exc} (write {{{{ and }}}} for literal braces)",
            f"linha {number}: chaves desbalanceadas (escreva {{{{ e }}}} para chaves literais)",
        ) from None
    parts: list[str] = []
    literal_run = ""  # Formatter splits escaped braces into separate literal pieces
    for literal, name, spec, conversion in pieces:
        literal_run += literal
        if name is None:
            continue
        if name not in FIELDS:
            hint = "" if name.isidentifier() else " (a placeholder is a plain field name)"
            raise TemplateError(
                f"line {number}: unknown field {{{name}}}{hint}; known fields: {', '.join(FIELDS)}",
                f"linha {number}: campo desconhecido {{{name}}}; campos conhecidos: "
                f"{', '.join(FIELDS)}",
            )
        if spec or conversion:
            raise TemplateError(
                f"line {number}: {{{name}}} has a format ({'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}); fields are formatted already, write {{{name}}}",
                f"linha {number}: {{{name}}} tem formatação; os campos já vêm formatados, "
                f"escreva {{{name}}}",
            )
        parts += [literal_run, name]
        literal_run = ""
    parts.append(literal_run)
    return Line(tuple(parts))
