"""Synthetic, seeded inputs for the knowledge-graph benchmark: product builds and embedding vectors."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from graph.facts import ProductFacts
from graph.samples import SampleProduct, build_facts

__all__ = ["ARTIFACTS", "Build", "builds", "clustered_vectors", "facts_of"]

ARTIFACTS = 30
ENTITIES = 10
ATTRIBUTES = 3

_DOMAINS = (
    "billing", "booking", "clinic", "courier", "crm", "dispatch", "education", "events", "fleet", "grants",
    "helpdesk", "hiring", "insurance", "inventory", "kitchen", "leasing", "library", "logistics", "marketing",
    "payroll", "pharmacy", "procurement", "property", "recruiting", "rental", "retail", "school", "ticketing",
    "travel", "warehouse",
)  # fmt: skip
_NOUNS = (
    "account", "agent", "appointment", "asset", "batch", "booking", "branch", "budget", "campaign", "candidate",
    "carrier", "case_file", "claim", "client", "contract", "course", "customer", "delivery", "department", "device",
    "doctor", "driver", "employee", "enrollment", "invoice", "item", "lead", "lesson", "line_item", "listing",
    "member", "message", "note", "offer", "patient", "payment", "policy", "project", "quote", "receipt", "refund",
    "report", "room", "route", "schedule", "shipment", "shift", "student", "supplier", "task", "team", "ticket",
    "timesheet", "trip", "vehicle", "vendor", "visit", "voucher", "warranty", "workspace",
)  # fmt: skip
_ATTRIBUTES = (
    "name", "email", "title", "status", "amount", "total", "quantity", "due_date", "starts_at", "description",
    "code", "price", "notes", "phone", "address", "rating", "priority", "reference", "category", "score",
    "unit_price", "paid_at", "sent_at", "subject", "body", "summary",
)  # fmt: skip
_VERBS = ("track", "manage", "book", "approve", "schedule", "assign", "review", "pay for", "ship", "record")


@dataclass(frozen=True)
class Build:
    """One synthetic product build: its sample shape and trace id."""

    sample: SampleProduct
    trace_id: str
    index: int


def _product(rng: random.Random, tenant: str, index: int) -> SampleProduct:
    domain = rng.choice(_DOMAINS)
    nouns = rng.sample(_NOUNS, ENTITIES)
    entities = tuple((n, tuple(rng.sample(_ATTRIBUTES, ATTRIBUTES))) for n in nouns)
    # a tree: every entity after the first hangs under one before it (ENTITIES - 1 relationships)
    relationships = tuple((nouns[rng.randrange(i)], nouns[i]) for i in range(1, ENTITIES))
    words = [n.replace("_", " ") for n in nouns]
    intent = (
        f"A {domain} service where people {rng.choice(_VERBS)} {words[0]} records with their "
        f"{', '.join(words[1:4])} and {rng.choice(_VERBS)} {words[4]} records"
    )
    return SampleProduct(tenant, f"{domain}-{index:06d}", f"{domain.title()} {index}", intent, entities, relationships)


def builds(products: int, tenants: int, seed: int) -> list[Build]:
    """`products` builds over `tenants` tenants, ordered tenant by tenant (the order a bulk loader writes in)."""
    rng = random.Random(seed)
    out = []
    for index in range(products):
        tenant = f"tenant-{index % tenants:02d}"
        out.append(Build(_product(rng, tenant, index), f"{rng.getrandbits(128):032x}", index))
    return sorted(out, key=lambda b: (b.sample.tenant, b.index))


def facts_of(build: Build) -> ProductFacts:
    """The complete lifecycle facts of one build (the same builder real builds use)."""
    started = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=build.index)
    return build_facts(build.sample, build.trace_id, artifacts=ARTIFACTS, started=started)


def chunks(items: list[Build], size: int) -> Iterator[list[Build]]:
    """Consecutive slices of at most `size` builds that never mix tenants."""
    batch: list[Build] = []
    for item in items:
        if batch and (len(batch) == size or batch[-1].sample.tenant != item.sample.tenant):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def clustered_vectors(count: int, dim: int, seed: int, clusters: int = 100, spread: float = 0.35) -> np.ndarray:
    """Unit vectors drawn around `clusters` random centres (embeddings of real texts cluster by topic)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((count, dim)).astype(np.float32) * (spread / np.sqrt(dim))
    vectors = centres[rng.integers(0, clusters, count)] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors
