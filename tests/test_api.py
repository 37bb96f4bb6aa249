"""The factory's HTTP API, served by uvicorn as `factory api` on a loopback port over a real home.

Accounts and tokens are real (the control database's), one real build runs from a submission through
its Server-Sent Events to done, and schemathesis fuzzes the running server against its own document
(every check, the stateful phase included).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from pydantic import StringConstraints, TypeAdapter, ValidationError

from generators.agents.contract import ContractDepth, check_contract
from infra import runtime
from infra.accounts import Accounts
from infra.control import ControlPlane
from studio.api import create_app
from tests.api_process import factory_api

INTENT = "- students enrol in courses\n- teachers teach courses"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Api:
    url: str
    home: Path
    control: ControlPlane
    tokens: dict[str, str]

    def client(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """`factory api` on a free loopback port; three accounts: alice builds and approves in acme, vera
    views acme, mallory builds in another tenant. Three products are on record for the listings."""
    home = tmp_path_factory.mktemp("api") / "home"
    control = ControlPlane(None, home)
    accounts = Accounts(control)
    roles = {
        "alice": [("acme", "builder"), ("acme", "approver")],
        "vera": [("acme", "viewer")],
        "mallory": [("evil", "builder"), ("evil", "approver"), ("evil", "viewer")],
    }
    tokens = {}
    for name, granted in roles.items():
        accounts.add_user(name, actor="test", kind="service", roles=granted)
        tokens[name] = accounts.create_token(name, actor="test", days=1)[0]
    for product in ("listed-a", "listed-b", "listed-c"):
        control.upsert_product("acme", product, status="new")
    control.upsert_product("evil", "hidden", status="new")
    try:
        with factory_api(home, FACTORY_CONTRACT_EXAMPLES="2") as url:
            yield Api(url, home, control, tokens)
    finally:
        for d in control.deployments(None, status="running"):
            if d.pid and d.workdir:
                runtime.stop(d.pid, Path(d.workdir))


def test_the_api_loads_the_embedding_model_as_it_starts_and_answers_meanwhile(tmp_path: Path) -> None:
    app = create_app(tmp_path / "home")
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert app.state.factory.warm.wait(120)
        embedder = app.state.factory.kg().embedder
        assert embedder is not None and embedder.loaded


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["instance"]
    return body


def test_every_call_but_health_and_the_document_needs_a_valid_token(api: Api) -> None:
    with api.client(None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert "/v1/builds" in anonymous.get("/openapi.json").json()["paths"]
        refused = anonymous.get("/v1/products")
        _problem(refused, 401)
        assert refused.headers["www-authenticate"].startswith("Bearer")
        _problem(anonymous.post("/v1/builds", json={"tenant": "acme", "product": "x", "intent": "a shop"}), 401)
        wrong = anonymous.get("/v1/products", headers={"Authorization": "Bearer sft_not-a-token"})
        assert "not known" in str(_problem(wrong, 401)["detail"])
    refusals = api.control.audit_log(None, limit=50)
    assert any(e.action == "auth.token" and e.outcome == "refused" for e in refusals)


def test_errors_are_problem_details(api: Api) -> None:
    with api.client("alice") as alice:
        invalid = _problem(alice.get("/v1/products", params={"limit": 0}), 422)
        assert invalid["errors"] and "limit" in str(invalid["detail"])
        _problem(alice.post("/v1/builds", json={"tenant": "acme", "product": "x"}), 422)  # no intent, no blueprint
        _problem(alice.post("/v1/builds", json={"tenant": "Acme!", "product": "x", "intent": "a shop"}), 422)
        _problem(alice.get("/v1/nothing-here"), 404)
        _problem(alice.get("/v1/builds/999999"), 404)
        not_allowed = alice.delete("/v1/products")
        assert _problem(not_allowed, 405)["instance"] == "/v1/products" and not_allowed.headers["allow"] == "GET"
        refused = _problem(alice.post("/v1/query/sparql", json={"query": "DROP ALL", "tenant": "acme"}), 400)
        assert "read-only" in str(refused["detail"]) or "DROP" in str(refused["detail"])
        _problem(alice.post("/v1/products/acme/listed-a/stop", json={"env": "dev"}), 409)  # nothing runs


def test_listings_are_paged_with_a_bounded_limit_and_a_cursor(api: Api) -> None:
    with api.client("alice") as alice:
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = alice.get("/v1/products", params=params).json()
            seen += [f"{p['tenant']}/{p['product']}" for p in page["items"]]
            pages, cursor = pages + 1, page["next_cursor"]
            if cursor is None:
                break
        assert pages >= 2 and len(seen) == len(set(seen))
        assert {"acme/listed-a", "acme/listed-b", "acme/listed-c"} <= set(seen)
        _problem(alice.get("/v1/products", params={"limit": 101}), 422)
        _problem(alice.get("/v1/products", params={"cursor": "not-a-cursor"}), 422)
        document = alice.get("/openapi.json").json()
    limit = next(p for p in document["paths"]["/v1/products"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)


def test_a_tenant_sees_nothing_of_another_tenant(api: Api) -> None:
    with api.client("mallory") as mallory:
        listed = mallory.get("/v1/products").json()["items"]
        assert [(p["tenant"], p["product"]) for p in listed] == [("evil", "hidden")]
        _problem(mallory.get("/v1/products", params={"tenant": "acme"}), 403)
        _problem(mallory.get("/v1/deployments", params={"tenant": "acme"}), 403)
        _problem(mallory.get("/v1/products/acme/listed-a/revisions"), 403)
        _problem(mallory.get("/v1/products/acme/listed-a/releases"), 403)
        _problem(mallory.post("/v1/query/sparql", json={"query": "SELECT * WHERE { ?s ?p ?o }", "tenant": "acme"}), 403)
        _problem(mallory.post("/v1/query/cypher", json={"query": "MATCH (n) RETURN n LIMIT 1"}), 403)  # every tenant
        _problem(mallory.get("/v1/search", params={"text": "courses", "tenant": "acme"}), 403)
        _problem(mallory.get(f"/v1/traces/{'0' * 32}"), 403)  # every tenant's traces: a factory admin's
        for action in ("stop", "promote", "approve", "reject"):
            body = {"env": "prod", "reason": "mine now"} if action in ("approve", "reject") else {}
            _problem(mallory.post(f"/v1/products/acme/listed-a/{action}", json=body), 403)
        submit = {"tenant": "acme", "product": "listed-a", "intent": "a shop that sells books"}
        _problem(mallory.post("/v1/builds", json=submit), 403)
    with api.client("vera") as vera:  # a viewer reads, and builds nothing
        assert {p["tenant"] for p in vera.get("/v1/products").json()["items"]} == {"acme"}
        _problem(vera.post("/v1/builds", json=submit), 403)
    assert api.control.latest_intent("acme", "listed-a") is None  # nothing was submitted


def _follow(api: Api, who: str, build_id: int) -> list[tuple[str, dict[str, object]]]:
    """The build's Server-Sent Events until `done` (or the stream ends)."""
    events: list[tuple[str, dict[str, object]]] = []
    with (
        api.client(who) as client,
        client.stream("GET", f"/v1/builds/{build_id}/events", params={"wait": 600}, timeout=660) as stream,
    ):
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
    return events


@pytest.mark.slow
def test_a_submission_builds_once_per_idempotency_key_and_is_followed_to_done(api: Api) -> None:
    submit = {"tenant": "acme", "product": "school", "intent": INTENT}
    key = {"Idempotency-Key": "school-1"}
    with api.client("alice") as alice:
        first = alice.post("/v1/builds", json=submit, headers=key)
        assert first.status_code == 202, first.text
        build = first.json()
        assert first.headers["location"] == f"/v1/builds/{build['build_id']}"
        again = alice.post("/v1/builds", json=submit, headers=key)
        assert again.status_code == 202 and again.json()["build_id"] == build["build_id"]
        assert again.headers["idempotent-replayed"] == "true"
        _problem(alice.post("/v1/builds", json={**submit, "intent": "a library lends books"}, headers=key), 422)
        with api.client("mallory") as mallory:  # the build id of another tenant is not found
            _problem(mallory.get(f"/v1/builds/{build['build_id']}"), 404)
            _problem(mallory.get(f"/v1/builds/{build['build_id']}/events"), 404)
        events = _follow(api, "alice", build["build_id"])
        assert events and events[-1][0] == "done", events[-3:]
        done = events[-1][1]
        assert done["status"] == "built", done
        assert done["stages"] and set(done["stages"].values()) <= {"done", "skipped"}, done["stages"]
        assert alice.get(f"/v1/builds/{build['build_id']}").json()["status"] == "built"
        intents = [i for i in api.control.intents("acme") if i.product == "school"]
        assert len(intents) == 1  # the key twice: one submission, one build
        revisions = alice.get("/v1/products/acme/school/revisions").json()["items"]
        assert [r["build_id"] for r in revisions] == [build["build_id"]]
        deployments = alice.get("/v1/deployments", params={"tenant": "acme"}).json()["items"]
        assert [(d["product"], d["status"]) for d in deployments] == [("school", "running")]
        trace = alice.get(f"/v1/traces/{done['trace_id']}", params={"tenant": "acme"})
        assert trace.status_code == 200 and {s["stage"] for s in trace.json()} >= {"intent", "blueprint"}
        rows = alice.post(
            "/v1/query/sparql",
            json={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 5", "tenant": "acme", "limit": 2},
        ).json()
        assert len(rows["rows"]) == 2 and rows["truncated"]
        found = alice.get("/v1/search", params={"text": "students and courses", "tenant": "acme", "k": 3})
        assert found.status_code == 200 and found.json()[0]["product"] == "school", found.text
    with api.client("mallory") as mallory:
        _problem(mallory.get(f"/v1/traces/{done['trace_id']}", params={"tenant": "evil"}), 404)
        _problem(mallory.post("/v1/products/acme/school/stop", json={"env": "dev"}), 403)
    assert api.control.deployment("acme", "school", "dev").status == "running"  # type: ignore[union-attr]


@pytest.mark.slow
def test_the_event_feed_shows_the_tenants_build_in_order_and_pages_by_sequence(api: Api) -> None:
    school = api.control.latest_intent("acme", "school")  # built by the test before
    assert school is not None and school.trace_id
    with api.client("vera") as vera:  # a viewer reads the feed
        events, after, pages = [], 0, 0
        while True:
            feed = vera.get("/v1/events", params={"tenant": "acme", "after": after, "limit": 7})
            assert feed.status_code == 200, feed.text
            body = feed.json()
            events += body["items"]
            pages += 1
            if body["next_cursor"] is None:
                break
            after = int(body["next_cursor"])
        _problem(vera.get("/v1/events"), 403)  # every tenant's feed: a factory admin's
    assert pages >= 2
    sequences = [int(e["sequence"]) for e in events]
    assert sequences == sorted(set(sequences)) and len({e["id"] for e in events}) == len(events)
    assert {e["tenant"] for e in events} == {"acme"} and all(e["specversion"] == "1.0" for e in events)
    built = [e for e in events if e["traceid"] == school.trace_id]
    kinds = {e["type"].removeprefix("dev.softwarefactory.") for e in built}
    assert {"intent.submitted", "stage.started", "stage.completed"} <= kinds, kinds
    assert all(e["subject"] == "acme/school" and e["source"] == "/tenants/acme/products/school" for e in built)
    with api.client("mallory") as mallory:
        _problem(mallory.get("/v1/events", params={"tenant": "acme"}), 403)
        theirs = mallory.get("/v1/events", params={"tenant": "evil", "limit": 100}).json()["items"]
        assert all(e["tenant"] == "evil" for e in theirs) and not {e["id"] for e in theirs} & {e["id"] for e in events}


def test_webhooks_are_registered_listed_rotated_and_removed_by_the_tenants_builders(api: Api) -> None:
    hook = {"tenant": "acme", "url": "https://93.184.216.34/factory", "description": "alerts",
            "event_types": ["dev.softwarefactory.stage.failed", "dev.softwarefactory.release.made"]}  # fmt: skip
    with api.client("alice") as alice, api.client("vera") as vera, api.client("mallory") as mallory:
        made = alice.post("/v1/webhooks", json=hook)
        assert made.status_code == 201, made.text
        endpoint, secret = made.json()["id"], made.json()["secret"]
        assert made.headers["location"] == f"/v1/webhooks/{endpoint}" and secret.startswith("whsec_")
        listed = alice.get("/v1/webhooks", params={"tenant": "acme"})
        assert [w["id"] for w in listed.json()["items"]] == [endpoint] and "whsec_" not in listed.text
        assert alice.get(f"/v1/webhooks/{endpoint}").json()["event_types"] == sorted(hook["event_types"])
        rotated = alice.post(f"/v1/webhooks/{endpoint}/rotate", params={"overlap_hours": 1}).json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret and rotated["rotating_until"]
        assert alice.get(f"/v1/webhooks/{endpoint}/attempts").json() == {"items": [], "next_cursor": None}
        assert alice.get("/v1/webhooks/dead-letters", params={"tenant": "acme"}).json()["items"] == []
        assert alice.post(f"/v1/webhooks/{endpoint}/replay", json={}).json() == {"replayed": []}
        private = _problem(alice.post("/v1/webhooks", json={**hook, "url": "http://127.0.0.1:9/hook"}), 422)
        assert "private" in str(private["detail"]) and "\n" not in str(private["detail"])
        unknown = _problem(alice.post("/v1/webhooks", json={**hook, "event_types": ["build.done"]}), 422)
        assert "unknown event type" in str(unknown["detail"])
        _problem(vera.post("/v1/webhooks", json=hook), 403)  # a viewer reads, and manages no webhooks
        _problem(vera.get("/v1/webhooks", params={"tenant": "acme"}), 403)
        _problem(vera.delete(f"/v1/webhooks/{endpoint}"), 403)
        _problem(mallory.get(f"/v1/webhooks/{endpoint}"), 404)  # another tenant's endpoint is not found
        _problem(mallory.post(f"/v1/webhooks/{endpoint}/rotate"), 404)
        _problem(mallory.delete(f"/v1/webhooks/{endpoint}"), 404)
        _problem(mallory.post("/v1/webhooks", json=hook), 403)
        options = alice.options("/v1/webhooks")  # a path with a route per method allows all of them
        assert _problem(options, 405) and options.headers["allow"] == "GET, POST"
        assert _problem(alice.delete("/v1/webhooks/dead-letters"), 405)  # not the endpoint "dead-letters"
        assert alice.delete(f"/v1/webhooks/{endpoint}").status_code == 204
        _problem(alice.get(f"/v1/webhooks/{endpoint}"), 404)
    audited = " ".join(str(e.detail) for e in api.control.audit_log("acme", limit=200))
    for shown in (secret, rotated["secret"]):  # answered once: never logged, audited or listed
        assert shown not in audited and shown not in (api.home / "api.log").read_text(errors="replace")


def _patterns(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_every_pattern_the_document_states_reads_the_same_to_the_server_and_to_a_client(api: Api) -> None:
    """A value that a client's validator or generator takes for valid is one the server takes, and back:
    white space is where the readings part (`\\s` is ECMAScript's set to JSON Schema, Unicode's to the
    server's regex engine, ASCII's to a generator that reads the pattern as Python `re.ASCII`)."""
    with api.client(None) as anonymous:
        patterns = sorted(set(_patterns(anonymous.get("/openapi.json").json())))
    assert len(patterns) >= 5, patterns
    spaces = [chr(c) for c in [*range(0x3001), 0xFEFF] if chr(c).isspace() or re.match(r"\s", chr(c), re.ASCII)]
    odd = [*spaces, "\x85", "\ufeff", "\u200b", "\x00", "\x1c", "-", "a", "é"]
    probes = [f"{head}{c}{tail}" for c in odd for head, tail in (("", ""), ("acme", ""), ("http://a.io/", "x"))]
    for pattern in patterns:
        server = TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)])
        validator = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
        generator = re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern, re.ASCII)
        for probe in probes:
            try:
                server.validate_python(probe)
                accepted = True
            except ValidationError:
                accepted = False
            assert validator.is_valid(probe) == accepted, (pattern, probe)
            assert bool(generator.search(probe)) == accepted, (pattern, probe)


def _built(api: Api, product: str) -> int:
    """The build id of acme/`product`, submitted (once, by its idempotency key) and followed to done."""
    submit = {"tenant": "acme", "product": product, "intent": INTENT}
    with api.client("alice") as alice:
        answer = alice.post("/v1/builds", json=submit, headers={"Idempotency-Key": f"{product}-1"})
    assert answer.status_code == 202, answer.text
    build_id = int(answer.json()["build_id"])
    assert _follow(api, "alice", build_id)[-1][1]["status"] == "built"
    return build_id


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _push(api: Api, product: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with api.client(None) as anonymous:  # no bearer token: the signature authenticates
        return anonymous.post(f"/v1/hooks/git/acme/{product}", content=body, headers=headers)


@pytest.mark.slow
def test_a_signed_push_to_main_merges_it_and_rebuilds_once_per_delivery(api: Api, tmp_path: Path) -> None:
    from infra.git_hooks import set_hook_secret
    from ontology.refs import ProductRef

    first_build = _built(api, "school")
    secret = set_hook_secret(api.control, ProductRef("acme", "school"), actor="test")
    # a person clones the product, edits it and pushes to main
    person = tmp_path / "person"
    _git(tmp_path, "clone", "--quiet", "-b", "env/dev", str(api.home / "remotes" / "acme" / "school.git"), str(person))
    (person / "NOTES.md").write_text("Edited by a person, pushed to main.\n", encoding="utf-8")
    _git(person, "add", "NOTES.md")
    _git(person, "-c", "user.name=P", "-c", "user.email=p@example.com", "commit", "--quiet", "-m", "A note")
    _git(person, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    commit = _git(person, "rev-parse", "HEAD")

    def github(ref: str, delivery: str, key: str = secret, after: str = commit) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"ref": ref, "after": after, "repository": {"full_name": "acme/school"}}).encode()
        signature = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signature,
                   "Content-Type": "application/json"}  # fmt: skip
        return body, headers

    _problem(_push(api, "school", *github("refs/heads/main", "d-0", key="not-the-secret")), 401)
    unsigned = github("refs/heads/main", "d-0")
    _problem(_push(api, "school", unsigned[0], {"X-GitHub-Event": "push"}), 401)
    _problem(_push(api, "no-such-product", *github("refs/heads/main", "d-0")), 404)
    other = _push(api, "school", *github("refs/heads/feature", "d-1"))
    assert other.status_code == 202 and other.json()["status"] == "ignored", other.text
    assert api.control.latest_intent("acme", "school").status == "built"  # type: ignore[union-attr]

    pushed = _push(api, "school", *github("refs/heads/main", "d-2"))
    assert pushed.status_code == 202 and pushed.json()["status"] == "rebuilding", pushed.text
    again = _push(api, "school", *github("refs/heads/main", "d-2"))  # the host redelivers: acted on once
    assert again.status_code == 202 and again.json() == pushed.json()
    repository = api.home / "repos" / "acme" / "school"
    subprocess.run(["git", "merge-base", "--is-ancestor", commit, "main"], cwd=repository, check=True)
    build_id = pushed.json()["build_id"]
    assert build_id == first_build and pushed.headers["location"] == f"/v1/builds/{build_id}"
    # a second edit pushed while that rebuild runs is refused and not queued: main is left as it was
    (person / "NOTES.md").write_text("A second edit, pushed during the rebuild.\n", encoding="utf-8")
    _git(person, "-c", "user.name=P", "-c", "user.email=p@example.com", "commit", "--quiet", "-am", "Another note")
    _git(person, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    second = _git(person, "rev-parse", "HEAD")
    head_before = _git(repository, "rev-parse", "main")
    for _ in range(2):  # the refused delivery is not remembered: sent again, it is refused again, not replayed
        busy = _problem(_push(api, "school", *github("refs/heads/main", "d-3", after=second)), 409)
        assert str(busy["type"]).endswith("/build-in-progress") and "already" in str(busy["detail"])
    assert _git(repository, "rev-parse", "main") == head_before
    assert _follow(api, "alice", build_id)[-1][1]["status"] == "built"
    assert _git(repository, "rev-parse", "main") == head_before  # nothing took the refused push after the build
    assert api.control.latest_intent("acme", "school").status == "built"  # type: ignore[union-attr]
    rebuilds = [e for e in api.control.audit_log("acme", limit=200) if e.action == "intent.rebuild"]
    assert sorted((e.actor, e.outcome) for e in rebuilds) == [("git-hook:github", "ok"), ("git-hook:github", "refused"),
                                                              ("git-hook:github", "refused")]  # fmt: skip
    assert (repository / "NOTES.md").read_text(encoding="utf-8").startswith("Edited by a person")
    origin = api.home / "remotes" / "acme" / "school.git"  # the rebuild released main with the edit to dev
    subprocess.run(["git", "merge-base", "--is-ancestor", commit, "env/dev"], cwd=origin, check=True)
    deployed = api.control.deployment("acme", "school", "dev")
    assert deployed is not None and deployed.commit == _git(repository, "rev-parse", "main")

    gitlab = json.dumps({"object_kind": "push", "ref": "refs/heads/main", "checkout_sha": second,
                         "project": {"path_with_namespace": "acme/school"}}).encode()  # fmt: skip
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "g-1", "Content-Type": "application/json"}
    _problem(_push(api, "school", gitlab, {**headers, "X-Gitlab-Token": "wrong"}), 401)
    rebuilt = _push(api, "school", gitlab, {**headers, "X-Gitlab-Token": secret})
    assert rebuilt.status_code == 202 and rebuilt.json()["status"] == "rebuilding", rebuilt.text
    assert _follow(api, "alice", rebuilt.json()["build_id"])[-1][1]["status"] == "built"
    assert (repository / "NOTES.md").read_text(encoding="utf-8").startswith("A second edit")  # pushed again: taken
    refused = [e for e in api.control.audit_log("acme", limit=200) if e.action == "hook.push"]
    assert {e.outcome for e in refused} == {"ok", "refused", "failed"} and all(secret not in e.detail for e in refused)
    with api.client(None) as anonymous:
        hook = anonymous.get("/openapi.json").json()["paths"]["/v1/hooks/git/{tenant}/{product}"]["post"]
    assert "being built" in hook["responses"]["409"]["description"] and "not queued" in hook["description"]


CONTRACT_CONFIG = """
# JSON Schema cannot state SPARQL's or Cypher's grammar: a query string that is not one is a 400.
[[operations]]
include-path-regex = "^/v1/query/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# A search that comes while the API still loads the embedding model (as it starts) waits for it.
[[operations]]
include-path = "/v1/search"
request-timeout = 120
"""


@pytest.mark.slow
def test_the_api_keeps_its_documented_contract_under_schemathesis(api: Api, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONTRACT_CONFIG, encoding="utf-8")
    with api.client("vera") as vera:  # the model loads as the API starts (10 s here): not a search's own time
        first = vera.get("/v1/search", params={"text": "school", "tenant": "acme"}, timeout=120)
        assert first.status_code in (200, 404), first.text  # 404: no product of acme is in the graph yet
    report = check_contract(
        api.url,
        ContractDepth.DEEP,
        headers={"Authorization": f"Bearer {api.tokens['vera']}"},
        config_file=config,
        max_examples=5,
        phases="examples,fuzzing,stateful",  # the coverage phase adds about 70 s here: run by hand (docs/api.md)
        timeout_s=240,
    )
    assert "stateful" in report.phases, report.phases
    assert report.ok, (report.summary(), [f"{f.request_line()} {f.title}: {f.message[:300]}" for f in report.failures],
                       report.errors, report.output[-1500:])  # fmt: skip
