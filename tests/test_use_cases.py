"""The lifecycle use cases refuse what would build an intent twice, before any build starts.

The runners are the real ones (Dagster's, the intake sensor's); these tests stop where a build would
begin, and `tests/test_lifecycle.py` runs the builds themselves through the same use cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.builds import DagsterBuildRunner
from assets.sensors import RunRequester
from infra.control import ControlPlane
from infra.lifecycle.claims import process_claim
from infra.lifecycle.use_cases import BuildInProgressError, build_claimed, build_submitted, rebuild, submit_and_build
from ontology.errors import InvalidInputError, NotFoundError
from ontology.refs import ProductRef

BILLING = ProductRef("acme", "billing")
TEXT = "Invoices with line items paid by card."


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_a_person_cannot_build_what_the_sensor_claimed(home: Path) -> None:
    control = ControlPlane(home=home)
    control.submit_intent("acme", "billing", TEXT, actor="api")  # submitted without a build of its own
    requested = build_submitted(control, RunRequester())
    assert [b.result.partition_key for b in requested] == ["acme.billing"]
    assert requested[0].result.tags["factory/trace_id"] == requested[0].claim.trace_id
    runner = DagsterBuildRunner(home=home)
    with pytest.raises(BuildInProgressError, match=r"acme/billing revision 1 is already queued \(claimed by intake"):
        submit_and_build(control, runner, BILLING, TEXT, actor="person")
    with pytest.raises(BuildInProgressError, match="already queued"):
        rebuild(control, runner, BILLING, actor="person")
    assert not (home / "dagster").exists()  # no build started
    assert build_submitted(control, RunRequester()) == []  # and the sensor does not ask twice
    refused = [e for e in control.audit_log("acme") if e.action == "intent.rebuild"]
    assert [e.outcome for e in refused] == ["refused"]


def test_the_sensor_never_requests_a_run_for_what_a_person_claimed(home: Path) -> None:
    control = ControlPlane(home=home)
    token = process_claim("studio")
    record, created = control.submit_intent("acme", "billing", TEXT, actor="person", claim=token)
    assert created and record.claim == token
    assert build_submitted(control, RunRequester()) == []
    with pytest.raises(BuildInProgressError, match="claimed by studio"):
        submit_and_build(control, DagsterBuildRunner(home=home), BILLING, TEXT, actor="someone else")


def test_a_build_process_needs_the_claim_of_that_product(home: Path) -> None:
    control = ControlPlane(home=home)
    token = process_claim("studio")
    control.submit_intent("acme", "billing", TEXT, actor="person", claim=token)
    runner = DagsterBuildRunner(home=home)
    with pytest.raises(InvalidInputError, match="no intent of acme/clinic is claimed"):
        build_claimed(control, runner, ProductRef("acme", "clinic"), token)
    with pytest.raises(InvalidInputError, match="no intent of acme/billing is claimed"):
        build_claimed(control, runner, BILLING, process_claim("studio"))
    with pytest.raises(NotFoundError, match="no intent to rebuild"):
        rebuild(control, runner, ProductRef("acme", "clinic"), actor="person")
    assert not (home / "dagster").exists()


def test_a_build_process_refuses_a_blueprint_of_another_product_before_taking_the_claim(home: Path) -> None:
    from generators.blueprint import dump_blueprint
    from graph.samples import DEMO_PRODUCTS
    from studio import seeding

    control = ControlPlane(home=home)
    other = seeding.blueprint_of(DEMO_PRODUCTS[0]).model_copy(update={"slug": "other"})
    token = process_claim("studio")
    record, _ = control.submit_intent("acme", "billing", "", blueprint_yaml=dump_blueprint(other), claim=token)
    with pytest.raises(InvalidInputError, match=f"the blueprint is for {other.tenant}/other, not acme/billing"):
        build_claimed(control, DagsterBuildRunner(home=home), BILLING, token)
    assert control.intent(record.id or 0).claim == token  # still the claimer's, which sees the process end
    assert not (home / "dagster").exists()


def test_a_rebuild_whose_preparation_fails_gives_the_intent_back_as_it_was(home: Path) -> None:
    control = ControlPlane(home=home)
    token = process_claim("cli")
    record, _ = control.submit_intent("acme", "billing", TEXT, actor="person", claim=token)
    assert record.id is not None
    built = control.set_intent_status(record.id, "built", detail="built at 12:00")
    runner = DagsterBuildRunner(home=home)
    prepared: list[str] = []

    def conflicting_push() -> None:  # the push hook's merge, run while the rebuild holds the intent
        held = control.intent(record.id or 0)
        prepared.append(held.status)
        raise InvalidInputError("the pushed main conflicts with main")

    with pytest.raises(InvalidInputError, match="conflicts"):
        rebuild(control, runner, BILLING, actor="git-hook:github", prepare=conflicting_push)
    assert prepared == ["queued"]  # it ran while the rebuild held the intent: no other build could start
    after = control.intent(record.id)
    assert (after.status, after.claim, after.detail) == ("built", built.claim, "built at 12:00")
    assert not (home / "dagster").exists()  # no build started
    rebuilds = [e.outcome for e in control.audit_log("acme") if e.action == "intent.rebuild"]
    assert rebuilds == []  # refused before it was a rebuild: the surface audits why (hook.push failed)
