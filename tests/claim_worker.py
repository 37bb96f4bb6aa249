"""One side of the claim race in tests/test_claims.py, run as a process of its own.

`python -m tests.claim_worker ROLE URL READY GO` opens the control database at URL, touches READY,
waits for GO, then claims as ROLE says and prints the intent ids it won as JSON:
`sensor` claims submitted intents as the intake sensor does; `person` submits each product's intent
again and claims it in the same transaction, as `factory build` does.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from infra.control import ControlPlane
from infra.lifecycle.claims import new_claim, process_claim

TENANT = "acme"
PRODUCTS = 120


def text(i: int) -> str:
    return f"Shop {i} sells things to customers."


def main(role: str, url: str, ready: Path, go: Path) -> None:
    plane = ControlPlane(url)
    ready.touch()
    while not go.exists():
        time.sleep(0.01)
    won: list[int] = []
    if role == "sensor":
        while batch := plane.claim_submitted(limit=1, claim=new_claim("intake")):
            won.extend(r.id or 0 for r in batch)
    else:
        for i in range(PRODUCTS):
            token = process_claim("cli")
            record, _ = plane.submit_intent(TENANT, f"shop-{i}", text(i), actor="person", claim=token)
            if record.claim == token:
                won.append(record.id or 0)
    print(json.dumps(won))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
