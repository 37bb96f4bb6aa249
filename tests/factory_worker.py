"""The factory as tests/test_events_e2e.py runs it: a process that builds products and delivers their events.

`python -m tests.factory_worker BLUEPRINTS` (FACTORY_HOME, and FACTORY_NATS_URL / _STREAM / _SUBJECT, set
by the test) delivers the outbox in a thread as `factory up` does, and builds each blueprint in the folder
(sorted by name) through the lifecycle use case `factory build` uses, one after the other. A product whose
latest build is done is skipped, so a worker started again after a kill resumes: the build the dead worker
held is taken over and built again (its finished stages are reused). When every product is built and the
outbox owes nothing, it prints `drained` and exits.

Retries come every second here, not on the production schedule, so a receiver that was away for a few
seconds gets its events within the test; the lease is short for the same reason after a kill.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from sqlalchemy import or_
from sqlmodel import col, func, select

from assets.builds import DagsterBuildRunner
from infra.control import ControlPlane
from infra.event_transports import EventDispatcher, nats_from_env
from infra.lifecycle.use_cases import submit_and_build
from infra.records import EventRecord, WebhookDelivery
from ontology.config import factory_home
from ontology.refs import ProductRef

TENANT = "acme"
SCHEDULE = (0.5,) + (1.0,) * 119
"""Two minutes of retries, one a second: a receiver away for less than that misses nothing."""
LEASE_S = 3.0
DRAIN_S = 300.0


def owed(control: ControlPlane, nats: bool) -> int:
    """How many events or deliveries the outbox still owes."""
    with control._session() as session:
        pending = session.exec(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "pending")
        ).one()
        waiting = [col(EventRecord.fanned_out_at).is_(None)]
        if nats:
            waiting.append(col(EventRecord.published_at).is_(None))
        unsent = session.exec(select(func.count()).select_from(EventRecord).where(or_(*waiting))).one()
    return int(pending) + int(unsent)


def main(blueprints: Path) -> None:
    control = ControlPlane(None, factory_home())
    publisher = nats_from_env()
    dispatcher = EventDispatcher(control, nats=publisher, schedule=SCHEDULE, lease_s=LEASE_S)
    stop = threading.Event()
    delivering = threading.Thread(target=dispatcher.run_forever, args=(stop, 0.2), name="events", daemon=True)
    delivering.start()
    runner = DagsterBuildRunner()
    for path in sorted(blueprints.glob("*.yaml")):
        ref = ProductRef(TENANT, path.stem)
        latest = control.latest_intent(ref.tenant, ref.product)
        if latest is not None and latest.status == "built":
            print(f"{ref} built before", flush=True)
            continue
        print(f"building {ref}", flush=True)
        outcome = submit_and_build(control, runner, ref, "", blueprint_yaml=path.read_text(), actor="e2e").result
        if not outcome.success:
            raise SystemExit(f"{ref} failed: {outcome.summary().error}")
        print(f"built {ref}", flush=True)
    deadline = time.monotonic() + DRAIN_S
    while owed(control, publisher is not None) and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    delivering.join(timeout=30)
    dispatcher.close()
    left = owed(control, publisher is not None)
    if left:
        raise SystemExit(f"the outbox still owes {left} after {DRAIN_S:g} s")
    print("drained", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
