"""A build builds the intent it claimed, even when a newer revision is submitted while it starts.

The intent stage is called as a plain function with the claimed intent's id, then the same race runs
through the real Dagster runner, whose run carries the claim's tags.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assets.builds import DagsterBuildRunner
from graph import KnowledgeGraph
from infra.control import ControlPlane
from infra.lifecycle import StageContext, design
from infra.lifecycle.claims import process_claim
from infra.lifecycle.use_cases import Claim
from ontology.errors import InvalidInputError
from tests.product_blueprints import clinic

FIRST = "A helpdesk where customers open support tickets."
SECOND = "A helpdesk where customers open support tickets and agents answer them."


def _context(home: Path, intent_id: int | None) -> StageContext:
    graph = KnowledgeGraph(home, embedder=None)
    return StageContext(home, "acme", "helpdesk", knowledge_graph=lambda: graph, intent_id=intent_id)


def test_the_intent_stage_builds_the_claimed_revision_not_the_latest(tmp_path: Path) -> None:
    control = ControlPlane(None, tmp_path)
    first, _ = control.submit_intent("acme", "helpdesk", FIRST, claim=process_claim("cli"))
    second, created = control.submit_intent("acme", "helpdesk", SECOND)  # submitted while the first starts
    assert created and first.id is not None and second.revision == 2
    result = design.intent(_context(tmp_path, first.id))
    assert (result.intent_id, result.revision, result.text) == (first.id, 1, FIRST)
    assert control.intent(first.id).status == "building" and control.intent(second.id or 0).status == "submitted"
    latest = design.intent(_context(tmp_path, None))  # no claim (the Dagster UI): the latest revision
    assert (latest.revision, latest.text) == (2, SECOND)


def test_an_intent_of_another_product_is_refused(tmp_path: Path) -> None:
    control = ControlPlane(None, tmp_path)
    other, _ = control.submit_intent("acme", "billing", "Invoices paid by card.")
    control.submit_intent("acme", "helpdesk", FIRST)
    with pytest.raises(InvalidInputError, match=f"intent {other.id} is for acme/billing, not acme/helpdesk"):
        design.intent(_context(tmp_path, other.id))


@pytest.mark.slow
def test_the_dagster_runner_builds_the_claimed_revision(factory_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    data = clinic().model_copy(update={"tenant": "acme", "slug": "helpdesk"}).model_dump(mode="json")
    for entity in data["entities"]:
        for attr in entity["attributes"]:
            attr["pii"] = False  # the policy check fails: the build stops after the blueprint, quickly
    control = ControlPlane(None, factory_home)
    token = process_claim("cli")
    first, _ = control.submit_intent("acme", "helpdesk", "", blueprint_yaml=yaml.safe_dump(data), claim=token)
    second, created = control.submit_intent("acme", "helpdesk", SECOND)
    assert created and first.id is not None and second.id is not None
    outcome = DagsterBuildRunner(home=factory_home).build(Claim.of(control.intent(first.id)))
    assert outcome.results.intent is not None
    assert (outcome.results.intent.intent_id, outcome.results.intent.revision) == (first.id, 1)
    assert outcome.results.blueprint is not None and outcome.stages["artifacts"] == "skipped"
    pii = "patient.full_name looks like personal data but is not flagged pii"
    assert not outcome.success and outcome.error == f"blocking check(s) failed: policy ({pii})"  # and its first issue
    assert control.intent(first.id).status == "failed"  # the claimed revision, not the newer one
    assert control.intent(second.id).status == "submitted"
