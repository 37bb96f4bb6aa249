"""Attribute types from attribute names: 'due date' is a date, 'amount' is money, 'email' is an email.

The rules read the words of the name only; an entity that stands for a person makes its
name, phone and address personal data (pii). Anything no rule recognises is a string.
"""

from __future__ import annotations

from generators.lexicon import words
from ontology.identifiers import label_of, safe_identifier
from ontology.models import Attribute, DataType

__all__ = ["ENUM_VALUES", "default_attributes", "infer_attribute"]

ENUM_VALUES: dict[str, list[str]] = {
    "status": ["pending", "active", "completed", "cancelled"],
    "state": ["pending", "active", "completed", "cancelled"],
    "priority": ["low", "medium", "high", "urgent"],
    "severity": ["low", "medium", "high", "critical"],
    "level": ["beginner", "intermediate", "advanced"],
    "role": ["admin", "member", "viewer"],
    "stage": ["new", "in_progress", "done"],
    "channel": ["email", "phone", "chat", "web"],
    "frequency": ["daily", "weekly", "monthly", "yearly"],
    "interval": ["daily", "weekly", "monthly", "yearly"],
    "cycle": ["monthly", "quarterly", "yearly"],
    "method": ["card", "bank_transfer", "cash", "other"],
    "type": ["standard", "special", "other"],
    "kind": ["standard", "special", "other"],
    "category": ["standard", "special", "other"],
    "size": ["small", "medium", "large"],
}
"""Sensible starting values for enum attributes, by the last word of their name."""

_MONEY = words(
    "amount price total cost fee fees balance salary budget rent deposit subtotal wage wages revenue payout charge fine"
)
_RATE_MONEY = words("hourly daily nightly weekly monthly")
_DECIMAL = words(
    "rate percent percentage weight height length width depth distance latitude longitude score ratio kg km "
    "hours mileage temperature volume"
)
_INT = words(
    "quantity count qty age capacity seats stock year rating position rank minutes days nights bedrooms "
    "guests attendees copies pages renewals points"
)
_BOOL_WORDS = words("active enabled paid archived verified published available billable visible")
_TEXT = words(
    "description notes note body content comments bio summary details instructions address message text "
    "reason diagnosis agenda feedback"
)
_URL = words("url website link homepage")
_UNIQUE = words("sku isbn vin code slug reference number serial")
_PII_ALWAYS = words(
    "email phone mobile address birth birthday dob ssn passport iban insurance national tax_id ip first_name "
    "last_name full_name surname"
)
_LABELS = words("name title subject")


def infer_attribute(phrase: str, *, person: bool = False) -> Attribute:
    """An attribute named by `phrase`, typed from its words; `person` marks the owning entity as a person."""
    name = safe_identifier(phrase, kind="attribute")
    words = name.split("_")
    last = words[-1]
    kind, values = _type_of(name, words)
    pii = (
        any(w in _PII_ALWAYS for w in words)
        or name in _PII_ALWAYS
        or (person and (last == "name" or name in ("phone_number", "date_of_birth", "home_address")))
    )
    return Attribute(
        name=name,
        label=label_of(phrase).capitalize() if phrase.islower() else label_of(phrase),
        type=kind,
        required=name in _LABELS,
        unique=kind == "string" and (last in _UNIQUE or name in _UNIQUE) and not pii,
        pii=pii,
        enum_values=values,
    )


def _type_of(name: str, words: list[str]) -> tuple[DataType, list[str]]:
    first, last = words[0], words[-1]
    if "email" in words:
        return "email", []
    if last in _URL:
        return "url", []
    if first in ("is", "has", "can", "allows") or name in _BOOL_WORDS:
        return "bool", []
    if name in ("date", "birthday", "dob", "deadline") or last == "date" or name == "date_of_birth":
        return "date", []
    if last == "on" and len(words) > 1:
        return "date", []
    if last in ("at", "time", "timestamp", "datetime") or name in ("starts", "ends"):
        return "datetime", []
    if first == "number" and len(words) > 2 and words[1] == "of":
        return "int", []
    if last == "rate" and first in _RATE_MONEY:
        return "money", []
    if last in _MONEY or (first in _MONEY and len(words) == 1):
        return "money", []
    if last in _INT or first == "count" or name.endswith("_count"):
        return "int", []
    if last in _DECIMAL:
        return "decimal", []
    if last in _TEXT:
        return "text", []
    if last in ENUM_VALUES:
        return "enum", list(ENUM_VALUES[last])
    return "string", []


def default_attributes(*, person: bool = False, title: bool = False) -> list[Attribute]:
    """What an entity with no pattern and no stated attributes starts with: a label, a description, a status."""
    label = "title" if title else "name"
    return [
        infer_attribute(label, person=person),
        Attribute(name="description", label="Description", type="text"),
        Attribute(
            name="status", label="Status", type="enum", required=True, enum_values=["active", "inactive", "archived"]
        ),
    ]
