"""The optional LLM backend, against a real HTTP server on loopback that speaks chat completions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generators.agents.llm import ChatBackend, LLMConfig, refine
from ontology.models import Requirements
from tests.llm_server import llm_server

DETERMINISTIC = Requirements(product_name="Invoicing", entities=[{"name": "invoice", "pattern": "invoice"}])
GOOD = {
    "product_name": "Invoicing Service",
    "entities": [{"name": "invoice", "pattern": "invoice"}, {"name": "customer", "pattern": "customer"}],
    "relationships": [{"source": "customer", "target": "invoice", "cardinality": "one-to-many", "verb": "receive"}],
}


def ask(url: str, timeout_s: float = 5.0) -> Any:
    backend = ChatBackend(LLMConfig(url=url, model="local-model", api_key="secret", timeout_s=timeout_s))
    try:
        return refine(backend, DETERMINISTIC, "You are an analyst.", "Intent: invoicing", Requirements.model_validate)
    finally:
        backend.close()


def test_config_is_off_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACTORY_LLM_URL", raising=False)
    assert LLMConfig.from_env() is None
    monkeypatch.setenv("FACTORY_LLM_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("FACTORY_LLM_MODEL", "m")
    config = LLMConfig.from_env()
    assert config is not None and config.endpoint == "http://127.0.0.1:9/v1/chat/completions"


def test_no_backend_keeps_the_deterministic_result() -> None:
    outcome = refine(None, DETERMINISTIC, "s", "u", Requirements.model_validate)
    assert outcome.source == "deterministic" and outcome.fallback is None and outcome.value is DETERMINISTIC


def test_a_valid_answer_is_parsed_into_the_model() -> None:
    with llm_server(lambda body: (200, json.dumps(GOOD))) as (url, received):
        outcome = ask(url)
    assert outcome.source == "llm" and outcome.fallback is None
    assert [e.name for e in outcome.value.entities] == ["invoice", "customer"]
    request = received[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer secret"
    assert request["body"]["model"] == "local-model"
    assert [m["role"] for m in request["body"]["messages"]] == ["system", "user"]


def test_a_fenced_json_answer_is_accepted() -> None:
    with llm_server(lambda body: (200, "Here you are:\n```json\n" + json.dumps(GOOD) + "\n```")) as (url, _):
        assert ask(url).source == "llm"


@pytest.mark.parametrize(
    ("status", "content", "reason"),
    [
        (500, '{"error": "boom"}', "HTTP 500"),
        (200, "not json at all", "not JSON"),
        (200, json.dumps({"product_name": "", "entities": "nope"}), "invalid answer"),
        (200, json.dumps({"entities": [{"name": "../../etc/passwd"}], "product_name": "x"}), "invalid answer"),
        (200, json.dumps({**GOOD, "unexpected": 1}), "invalid answer"),
    ],
)
def test_a_bad_answer_falls_back_and_says_why(status: int, content: str, reason: str) -> None:
    with llm_server(lambda body: (status, content)) as (url, received):
        outcome = ask(url)
    assert received, "the backend was asked"
    assert outcome.source == "deterministic" and outcome.value is DETERMINISTIC
    assert outcome.fallback is not None and reason in outcome.fallback


def test_a_slow_endpoint_falls_back() -> None:
    with llm_server(lambda body: (200, json.dumps(GOOD)), delay_s=1.5) as (url, _):
        outcome = ask(url, timeout_s=0.3)
    assert outcome.source == "deterministic" and "unreachable" in (outcome.fallback or "")


def test_an_unreachable_endpoint_falls_back() -> None:
    with llm_server(lambda body: (200, "{}")) as (url, _):
        pass  # the server is gone once the block ends
    outcome = ask(url)
    assert outcome.source == "deterministic" and "unreachable" in (outcome.fallback or "")
