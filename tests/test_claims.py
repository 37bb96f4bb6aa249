"""Claiming an intent for a build, on real SQLite and PostgreSQL control databases: one winner, whoever races.

The intake sensor and a person's `factory build` race for the same intents in two processes; threads
race for one intent; a build whose process is gone leaves a claim the next build may take over.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from infra.control import ControlPlane
from infra.lifecycle.claims import holder_gone, new_claim, process_claim
from tests.claim_worker import PRODUCTS, TENANT, text

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def control(control_url: str) -> ControlPlane:
    return ControlPlane(control_url)


def test_the_sensor_and_a_person_in_two_processes_never_claim_the_same_intent(tmp_path: Path, control_url: str) -> None:
    seed = ControlPlane(control_url)
    ids = {seed.submit_intent(TENANT, f"shop-{i}", text(i))[0].id for i in range(PRODUCTS)}
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = {}
    for role in ("sensor", "person"):
        ready = tmp_path / f"ready-{role}"
        command = [sys.executable, "-m", "tests.claim_worker", role, control_url, str(ready), str(go)]
        workers[role] = (subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=ROOT), ready)
    deadline = time.monotonic() + 60
    while not all(ready.exists() for _, ready in workers.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()  # both start claiming at once
    won = {role: json.loads(process.communicate(timeout=120)[0]) for role, (process, _) in workers.items()}
    assert all(process.returncode == 0 for process, _ in workers.values())
    sensor, person = set(won["sensor"]), set(won["person"])
    assert len(won["sensor"]) == len(sensor) and len(won["person"]) == len(person)
    assert not sensor & person  # no intent is built twice
    assert sensor | person == ids  # and none is left behind
    records = seed.intents(TENANT)
    assert {r.status for r in records} == {"queued"}
    assert all((r.claim or "").startswith("intake:") == (r.id in sensor) for r in records)
    assert len({r.trace_id for r in records}) == PRODUCTS  # each claim gave its intent a trace id


def test_threads_racing_for_one_intent_have_one_winner(control: ControlPlane) -> None:
    record, _ = control.submit_intent("acme", "billing", "Invoices for customers.")
    assert record.id is not None
    start = threading.Barrier(8)
    winners: list[str] = []

    def claim(slot: int) -> None:
        plane = ControlPlane(control.url)
        token = new_claim(f"worker-{slot}")
        start.wait()
        if plane.claim_intent(record.id or 0, token) is not None:
            winners.append(token)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    held = control.intent(record.id)
    assert held.status == "queued" and held.claim == winners[0] and held.trace_id


def test_submitting_with_a_claim_claims_in_the_same_transaction(control: ControlPlane) -> None:
    mine = process_claim("cli")
    record, created = control.submit_intent("acme", "billing", "Invoices for customers.", claim=mine)
    assert created and record.status == "queued" and record.claim == mine and len(record.trace_id or "") == 32
    assert control.claim_submitted() == []  # the sensor never sees it unclaimed
    theirs = process_claim("cli")
    again, created = control.submit_intent("acme", "billing", "Invoices for customers.", claim=theirs)
    assert not created and again.claim == mine and again.status == "queued"  # held: the second build lost
    assert control.claim_intent(record.id or 0, theirs) is None
    control.set_intent_status(record.id or 0, "built")
    rebuilt = control.claim_intent(record.id or 0, theirs)  # a built intent may be built again
    assert rebuilt is not None and rebuilt.claim == theirs and rebuilt.trace_id == record.trace_id


def test_only_the_holder_hands_over_or_releases_a_claim(control: ControlPlane) -> None:
    mine, other = new_claim("studio"), new_claim("cli")
    record, _ = control.submit_intent("acme", "billing", "Invoices for customers.", claim=mine)
    assert record.id is not None
    assert control.hand_over(record.id, other, "x") is None
    assert not control.release_claim(record.id, other, "stopped")
    assert control.claimed_intent(mine) is not None
    handed = control.hand_over(record.id, mine, other)
    assert handed is not None and handed.claim == other and control.claimed_intent(mine) is None
    assert control.release_claim(record.id, other, "the build stopped: interrupted")
    failed = control.intent(record.id)
    assert failed.status == "failed" and failed.detail == "the build stopped: interrupted"
    assert not control.release_claim(record.id, other, "again")  # released once: it no longer holds it


def test_a_claim_whose_process_is_gone_may_be_taken_over(control: ControlPlane) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = process_claim("cli", gone.pid)
    record, _ = control.submit_intent("acme", "billing", "Invoices for customers.", claim=dead)
    assert record.id is not None and record.status == "queued"
    assert holder_gone(record)
    alive = process_claim("cli")
    live_record, _ = control.submit_intent("acme", "helpdesk", "Tickets for customers.", claim=alive)
    assert not holder_gone(live_record)
    sensor, _ = control.submit_intent("acme", "clinic", "Appointments with doctors.")
    held = control.claim_submitted(claim=new_claim("intake"))[0]
    assert held.id == sensor.id and not holder_gone(held)  # no process to check: only time would tell
    mine = process_claim("cli")
    assert control.claim_intent(record.id, mine, held_by="intake::::someone-else") is None
    taken = control.claim_intent(record.id, mine, held_by=dead)
    assert taken is not None and taken.claim == mine
    assert control.claim_intent(record.id, process_claim("cli"), held_by=dead) is None  # taken once only
