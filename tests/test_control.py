"""The control database on real SQLite and real PostgreSQL: intake revisions, claims across threads and processes,
tenants, approvals (each test runs once on each engine, see the `control_url` fixture)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from infra import webhooks
from infra.control import ControlPlane
from ontology.errors import InvalidInputError, NotFoundError

ROOT = Path(__file__).resolve().parents[1]
COMMIT_A = "a" * 40
COMMIT_B = "b" * 40


@pytest.fixture
def control(control_url: str) -> ControlPlane:
    return ControlPlane(control_url)


def test_first_intent_is_revision_one_and_the_same_text_adds_no_revision(control: ControlPlane) -> None:
    first, created = control.submit_intent("acme", "billing", "  Invoices with line items paid by card.  ")
    assert created and first.revision == 1 and first.status == "submitted" and first.id is not None
    assert first.text == "Invoices with line items paid by card."
    again, created_again = control.submit_intent("acme", "billing", "Invoices with line items paid by card.")
    assert not created_again and again.id == first.id and again.revision == 1
    assert len(control.intents("acme")) == 1
    assert [e.detail for e in control.audit_log("acme")] == ["unchanged, revision 1", "revision 1"]


def test_a_changed_text_or_blueprint_makes_the_next_revision(control: ControlPlane) -> None:
    control.submit_intent("acme", "billing", "Invoices for customers.")
    second, created = control.submit_intent("acme", "billing", "Invoices and refunds for customers.")
    assert created and second.revision == 2
    third, created = control.submit_intent(
        "acme", "billing", "Invoices and refunds for customers.", blueprint_yaml="product: billing\n"
    )
    assert created and third.revision == 3 and third.blueprint_yaml == "product: billing"
    latest = control.latest_intent("acme", "billing")
    assert latest is not None and latest.id == third.id
    other, created = control.submit_intent("acme", "helpdesk", "Tickets for customers.")
    assert created and other.revision == 1
    assert control.latest_intent("acme", "unknown") is None


def test_only_a_blueprint_is_enough(control: ControlPlane) -> None:
    record, created = control.submit_intent("acme", "billing", "   ", blueprint_yaml="product: billing\n")
    assert created and record.text == "" and record.blueprint_yaml == "product: billing"
    with pytest.raises(InvalidInputError, match="blueprint is empty"):
        control.submit_intent("acme", "billing", "", blueprint_yaml=" \n")


def test_resubmitting_a_failed_intent_puts_it_back(control: ControlPlane) -> None:
    record, _ = control.submit_intent("acme", "billing", "Invoices for customers.")
    assert record.id is not None
    control.set_intent_status(record.id, "failed", detail="tests failed")
    again, created = control.submit_intent("acme", "billing", "Invoices for customers.")
    assert not created and again.id == record.id and again.status == "submitted" and again.detail is None
    assert control.intent(record.id).status == "submitted"


@pytest.mark.parametrize(
    ("tenant", "product", "text", "message"),
    [
        ("acme", "billing", "", "intent is empty"),
        ("acme", "billing", " \n\t ", "intent is empty"),
        ("acme", "billing", "x" * 20_001, "20001 characters"),
        ("acme", "billing", "Invoices\x00 for all", "NUL byte"),
        ("Acme", "billing", "Invoices", "invalid tenant"),
        ("acme", "../billing", "Invoices", "invalid product"),
        ("acme", "billing\n", "Invoices", "invalid product"),
    ],
)
def test_bad_intents_are_refused(control: ControlPlane, tenant: str, product: str, text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        control.submit_intent(tenant, product, text)
    assert control.intents() == []


def test_the_longest_allowed_intent_is_kept_whole(control: ControlPlane) -> None:
    record, _ = control.submit_intent("acme", "billing", "y" * 20_000)
    assert len(control.intent(record.id or 0).text) == 20_000


def test_intent_status_moves_and_unknown_ones_are_refused(control: ControlPlane) -> None:
    record, _ = control.submit_intent("acme", "billing", "Invoices for customers.")
    assert record.id is not None
    updated = control.set_intent_status(record.id, "building", trace_id="f" * 32, run_id="run-1")
    assert (updated.status, updated.trace_id, updated.run_id) == ("building", "f" * 32, "run-1")
    built = control.set_intent_status(record.id, "built")
    assert built.trace_id == "f" * 32 and built.updated_at >= record.updated_at
    assert [r.id for r in control.intents(status="built")] == [record.id]
    with pytest.raises(InvalidInputError, match="unknown intent status"):
        control.set_intent_status(record.id, "done")
    with pytest.raises(NotFoundError):
        control.set_intent_status(9999, "built")
    with pytest.raises(NotFoundError):
        control.intent(9999)


def test_claims_from_many_threads_never_overlap(control_url: str) -> None:
    seed = ControlPlane(control_url)
    ids = {seed.submit_intent("acme", f"shop-{i}", f"Shop {i} sells things.")[0].id for i in range(40)}
    claims: list[list[int]] = [[] for _ in range(4)]

    def claim(slot: int) -> None:
        plane = ControlPlane(control_url)
        while batch := plane.claim_submitted(limit=3):
            claims[slot].extend(r.id or 0 for r in batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [i for slot in claims for i in slot]
    assert len(flat) == len(set(flat)) == 40 and set(flat) == ids
    assert {r.status for r in seed.intents()} == {"queued"}
    assert seed.claim_submitted() == []


CLAIMER = """
import json, sys
from infra.control import ControlPlane
plane = ControlPlane(sys.argv[1])
got = []
while batch := plane.claim_submitted(limit=1):
    got.extend(r.id for r in batch)
print(json.dumps(got))
"""


def test_claims_from_two_processes_never_overlap(control_url: str) -> None:
    seed = ControlPlane(control_url)
    for i in range(30):
        seed.submit_intent("globex", f"clinic-{i}", f"Clinic {i} books appointments.")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, control_url], stdout=subprocess.PIPE, env=env, cwd=ROOT)
        for _ in range(2)
    ]
    results = [json.loads(w.communicate(timeout=60)[0]) for w in workers]
    assert all(w.returncode == 0 for w in workers)
    flat = results[0] + results[1]
    assert len(flat) == len(set(flat)) == 30
    assert len(seed.intents(status="queued")) == 30


def test_the_database_runs_in_wal_mode_and_reopens(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ControlPlane(home=home).submit_intent("acme", "billing", "Invoices.")
    with sqlite3.connect(home / "control.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened = ControlPlane(home=home)
    assert [r.text for r in reopened.intents()] == ["Invoices."]


def test_the_database_url_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere.db"
    monkeypatch.setenv("FACTORY_DATABASE_URL", f"sqlite:///{target}")
    plane = ControlPlane()
    plane.submit_intent("acme", "billing", "Invoices.")
    assert plane.url.endswith("elsewhere.db") and target.exists()
    assert len(ControlPlane(home=tmp_path / "home").intents()) == 1  # the variable wins over a home
    assert not (tmp_path / "home" / "control.db").exists()
    assert ControlPlane(f"sqlite:///{tmp_path / 'own.db'}").intents() == []  # an explicit url wins over both


def test_every_list_is_scoped_to_its_tenant(control: ControlPlane) -> None:
    for tenant in ("acme", "globex"):
        control.submit_intent(tenant, "billing", f"{tenant} invoices.")
        control.upsert_product(tenant, "billing", revision=1, status="built")
        control.record_build(tenant, "billing", revision=1, trace_id="c" * 32, template="fastapi-service@1.0.0",
                             passed=True, patterns=["invoice", "payment"])  # fmt: skip
        control.decide(tenant, "billing", "prod", COMMIT_A, "approved", "Reviewed.", "alice")
        control.upsert_deployment(tenant, "billing", url="http://127.0.0.1:9000", port=9000, status="running")
        control.audit("promote", "ok", tenant=tenant, product="billing")
    listings = {
        "intents": control.intents,
        "products": control.products,
        "builds": control.builds,
        "approvals": control.approvals,
        "deployments": control.deployments,
        "audit": control.audit_log,
    }
    for name, listing in listings.items():
        assert {row.tenant for row in listing("acme")} == {"acme"}, name  # type: ignore[operator]
        assert {row.tenant for row in listing(None)} == {"acme", "globex"}, name  # type: ignore[operator]
    assert control.builds("acme")[0].patterns == "invoice,payment"
    with pytest.raises(InvalidInputError):
        control.intents("ACME")


def test_products_upsert_only_the_fields_given_and_stages_merge(control: ControlPlane) -> None:
    control.upsert_product("acme", "billing", revision=1, trace_id="d" * 32, stages={"blueprint": "ok"})
    control.set_stage("acme", "billing", "artifacts", "running", duration_s=2.5)
    control.upsert_product("acme", "billing", status="building")
    row = control.product("acme", "billing")
    assert row is not None
    assert (row.revision, row.trace_id, row.status) == (1, "d" * 32, "building")
    assert row.stages == {"blueprint": "ok", "artifacts": "running"} and row.durations == {"artifacts": 2.5}
    assert row.stage_map() == row.stages and row.duration_map() == {"artifacts": 2.5}
    assert control.product("acme", "helpdesk") is None
    with pytest.raises(InvalidInputError, match="unknown ProductRecord fields"):
        control.upsert_product("acme", "billing", colour="red")
    with pytest.raises(InvalidInputError, match="revision"):
        control.upsert_product("acme", "billing", revision="three")


def test_a_release_is_recorded_once_per_build(control: ControlPlane) -> None:
    # the same build's deployment run again (its worker lost after recording) records nothing new
    first, again = ("a" * 40, "b" * 32), ("c" * 40, "d" * 32)
    for commit, trace in (first, first, again, again):
        control.record_release("acme", "billing", "dev", commit, revision=1, trace_id=trace)
    control.record_release("acme", "billing", "dev", first[0], revision=1, trace_id="e" * 32)  # another build: new
    rows = control.releases("acme", "billing", "dev")
    assert [(r.commit[0], r.trace_id[0] if r.trace_id else None, r.status) for r in rows] == [
        ("a", "e", "running"), ("c", "d", "replaced"), ("a", "b", "replaced")
    ]  # fmt: skip
    made = [e for e in webhooks.list_events(control, "acme") if e.type.endswith("release.made")]
    assert len(made) == 3


def test_builds_are_listed_newest_first(control: ControlPlane) -> None:
    for revision, passed in ((1, False), (2, True)):
        control.record_build("acme", "billing", revision=revision, trace_id="e" * 32, template="fastapi-service@1.0.0",
                             passed=passed, tests_passed=10, tests_failed=0 if passed else 2, p95_ms=12.5)  # fmt: skip
    builds = control.builds("acme", "billing")
    assert [(b.revision, b.passed, b.tests_failed) for b in builds] == [(2, True, 0), (1, False, 2)]
    assert builds[0].p95_ms == 12.5 and builds[0].error_rate is None


def test_the_latest_decision_on_exactly_that_commit_counts(control: ControlPlane) -> None:
    assert control.approval_for("acme", "billing", "prod", COMMIT_A) is None
    control.decide("acme", "billing", "prod", COMMIT_A, "approved", "Looks good.", "alice")
    approval = control.approval_for("acme", "billing", "prod", COMMIT_A)
    assert approval is not None and approval.decision == "approved" and approval.actor == "alice"
    control.decide("acme", "billing", "prod", COMMIT_A, "rejected", "Found a bug.", "bob")
    latest = control.approval_for("acme", "billing", "prod", COMMIT_A)
    assert latest is not None and (latest.decision, latest.reason) == ("rejected", "Found a bug.")
    assert control.approval_for("acme", "billing", "prod", COMMIT_B) is None
    assert control.approval_for("acme", "billing", "staging", COMMIT_A) is None
    assert control.approval_for("globex", "billing", "prod", COMMIT_A) is None


@pytest.mark.parametrize(
    ("decision", "reason", "commit", "message"),
    [
        ("approved", "", COMMIT_A, "reason is empty"),
        ("approved", "r" * 2_001, COMMIT_A, "2001 characters"),
        ("maybe", "Why not.", COMMIT_A, "unknown decision"),
        ("approved", "Fine.", "HEAD", "invalid commit"),
    ],
)
def test_bad_decisions_are_refused(
    control: ControlPlane, decision: str, reason: str, commit: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        control.decide("acme", "billing", "prod", commit, decision, reason, "alice")
    assert control.approvals() == []


def test_the_audit_log_is_newest_first_and_limited(control: ControlPlane) -> None:
    for i in range(5):
        control.audit("promote", "refused" if i % 2 else "ok", tenant="acme", product="billing", detail=f"event {i}")
    log = control.audit_log("acme", limit=3)
    assert [e.detail for e in log] == ["event 4", "event 3", "event 2"]
    assert [e.outcome for e in log] == ["ok", "refused", "ok"] and log[0].actor == "factory"
    with pytest.raises(InvalidInputError, match="unknown audit outcome"):
        control.audit("promote", "maybe")


def test_deployments_are_upserted_per_environment(control: ControlPlane) -> None:
    started = control.upsert_deployment("acme", "billing", url="http://127.0.0.1:8801", port=8801, pid=4242,
                                        revision=1, commit=COMMIT_A, status="running")  # fmt: skip
    control.upsert_deployment("acme", "billing", "staging", port=8802, status="running")
    stopped = control.upsert_deployment("acme", "billing", status="stopped")
    assert stopped.id == started.id and stopped.port == 8801 and stopped.started_at == started.started_at
    assert [d.env for d in control.deployments("acme", status="running")] == ["staging"]
    dev = control.deployment("acme", "billing")
    assert dev is not None and dev.status == "stopped" and dev.commit == COMMIT_A
    assert control.deployment("acme", "billing", "prod") is None
    with pytest.raises(InvalidInputError, match="unknown deployment status"):
        control.upsert_deployment("acme", "billing", status="paused")
