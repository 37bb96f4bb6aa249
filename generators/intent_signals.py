"""What an intent says besides its entities: features, service-level objectives and the product's name.

Each reader returns what it found and one note per finding, saying which words it came from.
"""

from __future__ import annotations

import re

from generators.language import sentences, tag, tokenize
from generators.lexicon import PRODUCT_HEADS, words
from ontology.models import Features, Objectives

__all__ = ["read_features", "read_objectives", "read_product_name"]

_FEATURE_WORDS: dict[str, re.Pattern[str]] = {
    "audit_fields": re.compile(r"\b(audit(?:ed|s|ing|able)?|history|histories|who changed)\b"),
    "soft_delete": re.compile(
        r"\b(soft[\s-]*delet\w*|archiv\w*|trash\w*|restor\w*|undelet\w*|recycle bin|recover deleted)\b"
    ),
    "search": re.compile(r"\b(search\w*|find|finds|finding|look\s*up|lookups?|full[\s-]*text)\b"),
    "domain_events": re.compile(
        r"\b(domain events?|webhooks?|notif(?:y|ies|ied|ying|ication|ications)|event[\s-]*driven"
        r"|(?:emit|emits|publish|publishes|raise|raises|fire|fires|send|sends)\s+(?:an?\s+|domain\s+)?events?"
        r"|events?\s+(?:when|whenever))\b"
    ),
}
_NEGATION = re.compile(r"\b(no|not|without|never|don't|doesn't|disable|disabled|skip)\b(\W+\w+){0,2}\W+$")


def read_features(text: str) -> tuple[Features, list[str]]:
    """Features switched on (or off, after 'no'/'without') by the words of the intent."""
    lower = text.lower()
    values = Features().model_dump()
    notes: list[str] = []
    for name, regex in _FEATURE_WORDS.items():
        found = regex.search(lower)
        if found is None:
            continue
        negated = _NEGATION.search(lower[max(0, found.start() - 40) : found.start()]) is not None
        values[name] = not negated
        notes.append(f"feature {name} {'off' if negated else 'on'}: the intent says {found.group(0)!r}")
    return Features(**values), notes


_NUMBER = r"(\d+(?:\.\d+)?)"
_LATENCY = re.compile(
    r"\b(?:p95|p\s*95|95th[\s-]*percentile|latency|respon(?:d|ds|se|se times?))\b[^.;\n]{0,40}?"
    + _NUMBER
    + r"\s*(ms|milliseconds?|msecs?|s|secs?|seconds?)\b"
)
_AVAILABILITY = re.compile(
    _NUMBER
    + r"\s*%\s*(?:availability|uptime|available)|(?:availability|uptime)\s*(?:of|at|above|>=?)?\s*"
    + _NUMBER
    + r"\s*%"
)
_ERROR_RATE = re.compile(r"\berrors?(?:\s*rate)?\b[^.;\n\d]{0,30}?" + _NUMBER + r"\s*%")


def read_objectives(text: str) -> tuple[Objectives, list[str]]:
    """p95 latency and error rate from phrases such as 'p95 under 200 ms' or '99.9% availability'."""
    lower = text.lower()
    values = Objectives().model_dump()
    notes: list[str] = []
    latency = _LATENCY.search(lower)
    if latency:
        ms = float(latency.group(1)) * (1.0 if latency.group(2).startswith("m") else 1000.0)
        if 0 < ms <= 60_000:
            values["p95_latency_ms"] = ms
            notes.append(f"objective p95 latency {ms:g} ms: the intent says {latency.group(0)!r}")
        else:
            notes.append(f"ignored latency {latency.group(0)!r}: it must be between 0 and 60,000 ms")
    error = _ERROR_RATE.search(lower)
    availability = _AVAILABILITY.search(lower)
    if error:
        rate = float(error.group(1)) / 100
        if 0 <= rate <= 1:
            values["error_rate"] = rate
            notes.append(f"objective error rate {rate:g}: the intent says {error.group(0)!r}")
        else:
            notes.append(f"ignored error rate {error.group(0)!r}: it must be between 0% and 100%")
    elif availability:
        percent = float(availability.group(1) or availability.group(2))
        if 0 <= percent <= 100:
            values["error_rate"] = round(1 - percent / 100, 6)
            notes.append(f"objective error rate {values['error_rate']:g}: from {availability.group(0)!r}")
    return Objectives(**values), notes


_NAME_NOISE = words(
    "simple small little basic new modern multitenant cloud saas secure scalable lightweight hosted tiny "
    "complete full online"
)
_PLAIN_HEADS = words("service app application platform system tool portal saas software solution api backend")
_MODIFIERS = frozenset({"NOUN", "ADJ", "VERB"})


def read_product_name(text: str) -> str | None:
    """'A multi-tenant invoicing service where ...' -> 'Invoicing Service'; None when no phrase names it.

    The name is a phrase of the first sentence that starts with a determiner (or the text) and ends
    in a word for the product itself (service, app, platform, tracker, helpdesk ...).
    """
    first = sentences(text)[:1]
    tokens = tag(tokenize(first[0])) if first else []
    for i, token in enumerate(tokens):
        if token.tag != "NOUN" or token.lemma not in PRODUCT_HEADS:
            continue
        j, modifiers = i - 1, list[str]()
        while j >= 0 and i - j <= 5 and tokens[j].tag in _MODIFIERS:
            if tokens[j].lower not in _NAME_NOISE:
                modifiers.insert(0, tokens[j].text.replace("_", "-"))
            j -= 1
        if j >= 0 and (tokens[j].tag != "DET" or j > 8):
            continue
        if modifiers or token.lower not in _PLAIN_HEADS:
            return " ".join(_title(w) for w in [*modifiers, token.text])
    return None


def _title(word: str) -> str:
    return word if any(c.isupper() for c in word[1:]) else word[:1].upper() + word[1:]
