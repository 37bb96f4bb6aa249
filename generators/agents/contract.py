"""Whether a started service keeps the contract its OpenAPI document states, tried with schemathesis.

schemathesis runs in a process of its own (its command line, forked from the warm interpreter where
there is one, see generators.agents.warm_interpreter; in a temporary folder, with its example
database off) and writes two of its machine-readable reports there: the JSON run report (the
totals) and the NDJSON event stream (every failing case with its request). Nothing of its human
output is read. A run that exceeds its time limit is reported as not holding, never raised.

Two depths:

* shallow: a few examples per operation from the documented examples and the fuzzer, fixed seed,
  a few seconds for a five-entity service; the build's blocking check;
* deep: at least 100 examples per operation and every phase (examples, coverage, fuzzing and the
  stateful phase that chains create -> read -> update -> delete through the document's links).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, computed_field

from generators.agents.warm_interpreter import run_module
from ontology.errors import InvalidInputError

__all__ = ["ContractDepth", "ContractFailure", "ContractReport", "check_contract"]

OUTPUT_TAIL = 4000
SHALLOW_SEED = 20240101  # the blocking check gives the same answer for the same service


class ContractDepth(StrEnum):
    SHALLOW = "shallow"
    DEEP = "deep"


_PLANS: dict[ContractDepth, tuple[int, str, int]] = {
    ContractDepth.SHALLOW: (3, "examples,fuzzing", 2),
    ContractDepth.DEEP: (100, "examples,coverage,fuzzing,stateful", 1),
}
"""Per depth: examples per operation, the phases run, and schemathesis's workers (two operations at a
time take a shallow run from about 5 s to about 3.5 s on two cores)."""


class ContractFailure(BaseModel):
    """One check that failed, with the request that reproduces it."""

    model_config = ConfigDict(frozen=True)

    check: str  # the check's name, e.g. "status_code_conformance"
    code: str  # schemathesis's failure code, e.g. "ST103"
    title: str  # e.g. "Undocumented status code"
    message: str
    operation: str  # the operation as documented, e.g. "GET /bins/{id}"
    method: str
    path: str  # the path actually requested, ids filled in
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    body: Any = None  # the JSON body sent, or {"$base64": ...} for bytes that are not JSON
    status_code: int | None = None  # what the service answered

    def request_line(self) -> str:
        """`METHOD /path?query` in one line, for logs and metadata."""
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


class ContractReport(BaseModel):
    """What a schemathesis run against a started service found."""

    __test__: ClassVar[bool] = False
    model_config = ConfigDict(frozen=True)

    depth: ContractDepth
    base_url: str
    cases: int = 0  # test cases generated and sent
    failures: tuple[ContractFailure, ...] = ()
    errors: tuple[str, ...] = ()  # the run could not test (schema unreadable, service down, ...)
    duration_s: float = 0.0
    timed_out: bool = False
    exit_code: int | None = None
    seed: int | None = None
    phases: dict[str, str] = {}  # each phase run and how it ended: success, failure, skip, errored
    output: str = ""  # the tail of schemathesis's own output, for a person to read

    def summary(self) -> str:
        """One line: depth, cases, failures, time."""
        errors = f", {len(self.errors)} errors" if self.errors else ""
        late = ", timed out" if self.timed_out else ""
        return (
            f"contract ({self.depth.value}): {self.cases} cases, {len(self.failures)} failures{errors}{late} "
            f"in {self.duration_s:.1f} s"
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """Cases were sent, none failed, nothing errored or timed out."""
        return self.cases > 0 and not (self.failures or self.errors or self.timed_out)


_MODULE = "schemathesis.cli"  # run as `python -m schemathesis.cli`, forked from the warm interpreter where there is one


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SCHEMATHESIS_"))}
    env.pop("PYTHONPATH", None)
    env["NO_COLOR"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _events(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in lines:
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict) and len(event) == 1:
                name, payload = next(iter(event.items()))
                if isinstance(payload, dict):
                    yield name, payload


def _decoded(body: Any) -> Any:
    """A request body as sent: JSON where it parses, else kept as {"$base64": ...}."""
    if isinstance(body, dict) and set(body) == {"$base64"}:
        raw = base64.b64decode(body["$base64"])
        try:
            return json.loads(raw)
        except ValueError:
            return body
    return body


def _failures(events: Path) -> tuple[ContractFailure, ...]:
    found: dict[str, ContractFailure] = {}
    for name, payload in _events(events):
        if name != "ScenarioFinished":
            continue
        recorder = payload.get("recorder") or {}
        cases, interactions = recorder.get("cases") or {}, recorder.get("interactions") or {}
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = (check.get("failure_info") or {}).get("failure") or {}
                value = (cases.get(case_id) or {}).get("value") or {}
                exchange = interactions.get(case_id) or {}
                request = exchange.get("request") or {}
                uri = urlsplit(str(request.get("uri") or ""))
                query = value.get("query") or dict(parse_qsl(uri.query))
                body = _decoded(request["body"]) if request.get("body") is not None else value.get("body")
                item = ContractFailure(
                    check=str(check.get("name")),
                    code=str(failure.get("code", "")),
                    title=str(failure.get("title", "")),
                    message=str(failure.get("message", "")),
                    operation=str(failure.get("operation") or recorder.get("label") or ""),
                    method=str(value.get("method") or request.get("method") or ""),
                    path=uri.path or str(value.get("path") or ""),
                    query={str(k): v for k, v in query.items()},
                    headers={str(k): str(v) for k, v in (value.get("headers") or {}).items()},
                    body=body,
                    status_code=(exchange.get("response") or {}).get("status_code"),
                )
                key = [item.check, item.method, item.path, item.query, item.body]
                found.setdefault(json.dumps(key, sort_keys=True, default=str), item)
    return tuple(sorted(found.values(), key=lambda f: (f.operation, f.check, f.path)))


class _Summary(BaseModel):
    cases: int = 0
    errors: tuple[str, ...] = ()
    seed: int | None = None
    phases: dict[str, str] = {}


def _summary(report: Path) -> _Summary:
    """Cases generated, errors, seed and phases from the JSON run report."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _Summary(errors=("schemathesis wrote no run report",))
    errors = tuple(str(e.get("title") or e) if isinstance(e, dict) else str(e) for e in data.get("errors") or [])
    seed = data.get("seed")
    phases = {str(k): str((v or {}).get("status")) for k, v in (data.get("phases") or {}).items()}
    return _Summary(
        cases=int((data.get("test_cases") or {}).get("generated") or 0),
        errors=errors,
        seed=seed if isinstance(seed, int) else None,
        phases=phases,
    )


def check_contract(
    base_url: str,
    depth: ContractDepth | str = ContractDepth.SHALLOW,
    *,
    headers: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
    seed: int | None = None,
    schema_path: str = "/openapi.json",
    max_examples: int | None = None,
    phases: str | None = None,
    config_file: Path | None = None,
) -> ContractReport:
    """Fuzz the service at `base_url` (already started) against its own OpenAPI document.

    `headers` go with every request (the tenant header of a generated product). The shallow depth
    uses a fixed seed unless `seed` says otherwise; the deep one a random one. `timeout_s` defaults
    to 120 s shallow and 1800 s deep. `max_examples` replaces the depth's examples per operation, `phases`
    its phases (comma-separated, e.g. "examples,fuzzing,stateful"); `config_file` is a schemathesis.toml
    (per-operation settings, such as statuses a check expects where the schema cannot say more).
    """
    try:
        level = ContractDepth(depth)
    except ValueError:
        raise InvalidInputError(f"unknown contract depth {depth!r}: use shallow or deep") from None
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInputError(f"{base_url!r} is no http(s) address of a started service")
    examples, planned, workers = _PLANS[level]
    phases = phases or planned
    if max_examples is not None:
        if max_examples < 1:
            raise InvalidInputError(f"max_examples must be at least 1, not {max_examples}")
        examples = max_examples
    limit = timeout_s if timeout_s is not None else (120.0 if level is ContractDepth.SHALLOW else 1800.0)
    if seed is None and level is ContractDepth.SHALLOW:
        seed = SHALLOW_SEED
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="factory-contract-") as scratch:
        folder = Path(scratch)
        report, events = folder / "run.json", folder / "events.ndjson"
        command = [
            *(["--config-file", str(Path(config_file).resolve())] if config_file is not None else []),
            "run",
            base_url.rstrip("/") + schema_path,
            "--checks",
            "all",
            "--phases",
            phases,
            "--max-examples",
            str(examples),
            "--workers",
            str(workers),
            "--generation-database",
            "none",
            "--request-timeout",
            "10",
            "--report",
            "json,ndjson",
            "--report-json-path",
            str(report),
            "--report-ndjson-path",
            str(events),
            "--no-color",
        ]
        if seed is not None:
            command += ["--seed", str(seed)]
        for name, value in (headers or {}).items():
            command += ["--header", f"{name}: {value}"]
        process = run_module(_MODULE, command, folder, _environment(), folder / "output.txt")
        timed_out = not process.wait(limit)
        if timed_out:
            process.kill()
        output = (folder / "output.txt").read_text(encoding="utf-8", errors="replace")
        summary = _summary(report)
        failures = _failures(events)
    errors = summary.errors
    if process.returncode not in (0, 1) and not timed_out and not errors:
        errors = (f"schemathesis ended with exit code {process.returncode}",)
    if process.returncode == 1 and not failures and not errors:
        errors = ("schemathesis reported a failure it did not record",)
    return ContractReport(
        depth=level,
        base_url=base_url,
        cases=summary.cases,
        failures=failures,
        errors=errors,
        duration_s=round(time.monotonic() - start, 3),
        timed_out=timed_out,
        exit_code=process.returncode,
        seed=summary.seed if summary.seed is not None else seed,
        phases=summary.phases,
        output=(output or "")[-OUTPUT_TAIL:] + (f"\ntimed out after {limit:g} s" if timed_out else ""),
    )
