"""An optional LLM backend for the analyst and the architect.

It speaks the OpenAI-compatible chat-completions wire format, so local servers work too.
Off unless FACTORY_LLM_URL is set. Its answer is parsed into the same models and validated
like any other input; on any failure the deterministic result stands and the reason is kept.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

__all__ = ["ChatBackend", "LLMConfig", "LLMError", "Refinement", "refine"]

T = TypeVar("T", bound=BaseModel)
MAX_ANSWER_CHARS = 200_000


class LLMError(Exception):
    """The endpoint failed or answered something unusable (never shown as a traceback)."""


@dataclass(frozen=True)
class LLMConfig:
    url: str
    model: str
    api_key: str = ""
    timeout_s: float = 60.0

    @classmethod
    def from_env(cls) -> LLMConfig | None:
        """The endpoint named by FACTORY_LLM_URL / FACTORY_LLM_MODEL / FACTORY_LLM_API_KEY, or None when off."""
        url = os.environ.get("FACTORY_LLM_URL", "").strip()
        if not url:
            return None
        return cls(
            url=url,
            model=os.environ.get("FACTORY_LLM_MODEL", "default"),
            api_key=os.environ.get("FACTORY_LLM_API_KEY", ""),
        )

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


class ChatBackend:
    """Asks a chat-completions endpoint for one JSON object."""

    def __init__(self, config: LLMConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(timeout=config.timeout_s, headers=headers, transport=transport)

    def complete_json(self, system: str, user: str) -> Any:
        body = {
            "model": self.config.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }
        try:
            response = self._client.post(self.config.endpoint, json=body)
        except httpx.HTTPError as exc:
            raise LLMError(f"endpoint unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise LLMError(f"endpoint answered HTTP {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError("answer is not a chat completion") from None
        if not isinstance(content, str) or len(content) > MAX_ANSWER_CHARS:
            raise LLMError("answer has no usable message content")
        fenced = re.search(r"```(?:json)?\s*(.*?)```", content, re.DOTALL)
        try:
            return json.loads(fenced.group(1) if fenced else content)
        except ValueError:
            raise LLMError("answer is not JSON") from None

    def close(self) -> None:
        self._client.close()


@dataclass
class Refinement(Generic[T]):
    """What a stage produced and where it came from; `fallback` says why the LLM's answer was not used."""

    value: T
    source: Literal["llm", "deterministic"]
    fallback: str | None = None


def refine(
    backend: ChatBackend | None,
    deterministic: T,
    system: str,
    user: str,
    parse: Callable[[Any], T],
) -> Refinement[T]:
    """Ask the LLM to improve `deterministic`; keep it when the backend is off or its answer fails `parse`."""
    if backend is None:
        return Refinement(deterministic, "deterministic")
    try:
        return Refinement(parse(backend.complete_json(system, user)), "llm")
    except LLMError as exc:
        return Refinement(deterministic, "deterministic", f"LLM fallback: {exc}")
    except ValidationError as exc:
        first = exc.errors()[0]
        return Refinement(
            deterministic, "deterministic", f"LLM fallback: invalid answer at {first['loc']}: {first['msg']}"
        )
    except Exception as exc:  # any other parse/validation failure of the answer
        reason = " ".join(str(exc).split())[:200]
        return Refinement(deterministic, "deterministic", f"LLM fallback: {type(exc).__name__}: {reason}")
