"""From an intent to a blueprint: the analyst, then the architect, each optionally refined by an LLM.

This is the one place that chains the agents; the command line, the benchmarks and the
lifecycle assets all call it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from generators.agents.analyst import Analyst
from generators.agents.architect import Architect, PatternOutcome
from generators.agents.llm import ChatBackend, LLMConfig, refine
from generators.blueprint import json_schema, parse_blueprint
from generators.finding_rules import Applied, Change
from generators.open_questions import settle
from generators.patterns import pattern_library
from graph import KnowledgeGraph
from graph.decisions import past_decisions
from graph.projection import Embedder
from ontology.findings import Finding
from ontology.models import Blueprint, OpenQuestion, Requirements

__all__ = ["Analysis", "Planner", "Proposal"]

_ANALYST_PROMPT = (
    "You are the analyst of a software factory. Read the business intent and answer with one JSON object "
    "matching this JSON Schema (the Requirements model): entities with snake_case names, their attributes, "
    "relationships and features. Improve the draft you are given; do not invent unrelated entities.\n"
)
_ARCHITECT_PROMPT = (
    "You are the architect of a software factory. Improve the draft blueprint you are given and answer with "
    "one JSON object valid against this JSON Schema; keep names, slug and tenant.\n"
)


@dataclass(frozen=True)
class Analysis:
    """The analyst's requirements, where they came from ("deterministic" or "llm") and why an LLM answer was dropped."""

    requirements: Requirements
    source: str
    fallback: str | None = None


@dataclass
class Proposal:
    """What the agents proposed for an intent, with what they used and where each result came from."""

    requirements: Requirements
    blueprint: Blueprint
    used: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    """What findings of running deployments changed in the blueprint (generators.finding_rules)."""
    questions: list[OpenQuestion] = field(default_factory=list)
    """The architect's questions for the owner, raised by findings."""
    base: Blueprint | None = None
    """The architect's blueprint before the findings changed it (None: no finding changed anything)."""


class Planner:
    """Holds the agents (and the model they share) so that many intents can be planned quickly."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        kg: KnowledgeGraph | None = None,
        llm: ChatBackend | None = None,
    ) -> None:
        self.embedder = embedder
        self.kg = kg
        self.llm = llm
        self.library = pattern_library()

    @classmethod
    def from_env(cls, kg: KnowledgeGraph | None = None) -> Planner:
        """A planner with the embedding model of `kg` (if any) and the LLM named in the environment (if any)."""
        config = LLMConfig.from_env()
        return cls(kg.embedder if kg else None, kg, ChatBackend(config) if config else None)

    def propose(
        self, intent: str, tenant: str, product: str | None = None, answers: Mapping[str, str] | None = None
    ) -> Proposal:
        """Analysis then design: the blueprint the agents propose for `intent`, with `answers` to its questions."""
        return self.design(self.analyse(intent, tenant, answers), tenant, product)

    def analyse(self, intent: str, tenant: str, answers: Mapping[str, str] | None = None) -> Analysis:
        """The analyst's requirements for `intent`, refined by the LLM when one is configured.

        Its open questions are settled by `answers` (question id -> choice) and, for the rest, by
        the tenant's past decisions in the knowledge graph (see generators.open_questions)."""
        analyst = Analyst(self.embedder, self.kg, tenant, library=self.library)
        requirements = analyst.analyse(intent)
        analysis = refine(
            self.llm,
            requirements,
            _ANALYST_PROMPT + json.dumps(Requirements.model_json_schema()),
            json.dumps({"intent": intent, "draft": requirements.model_dump(mode="json")}),
            Requirements.model_validate,
        )
        past = past_decisions(self.kg, tenant) if self.kg is not None else []
        settled = settle(analysis.value, self.library, answers, past)
        return Analysis(settled, analysis.source, analysis.fallback)

    def design(
        self,
        analysis: Analysis,
        tenant: str,
        product: str | None = None,
        outcomes: Mapping[str, PatternOutcome] | None = None,
        findings: Sequence[Finding | Applied] = (),
    ) -> Proposal:
        """The architect's blueprint for the analysed requirements, refined by the LLM when configured.

        `outcomes` are the factory insights per pattern; the architect notes patterns that did badly.
        `findings` (what the product's running deployment showed) change the blueprint by the rules of
        generators.finding_rules, honouring the tenant's decisions on the questions they raised.
        """
        requirements = analysis.requirements
        decisions = past_decisions(self.kg, tenant) if self.kg is not None and findings else []
        design = Architect(self.library, self.kg, outcomes).design(requirements, tenant, product, findings, decisions)
        designed = refine(
            self.llm,
            design.blueprint,
            _ARCHITECT_PROMPT + json_schema(),
            json.dumps(
                {
                    "requirements": requirements.model_dump(mode="json"),
                    "draft": design.blueprint.model_dump(mode="json"),
                }
            ),
            lambda data: _same_identity(parse_blueprint(data), design.blueprint),
        )
        notes = [*requirements.notes, *design.notes]
        notes += [fallback for fallback in (analysis.fallback, designed.fallback) if fallback]
        return Proposal(
            requirements,
            designed.value,
            design.used,
            notes,
            {"analysis": analysis.source, "design": designed.source},
            design.changes,
            design.questions,
            design.base if design.changes else None,
        )


def _same_identity(proposed: Blueprint, draft: Blueprint) -> Blueprint:
    if (proposed.slug, proposed.tenant) != (draft.slug, draft.tenant):
        raise ValueError("the answer changed the product's slug or tenant")
    return proposed
