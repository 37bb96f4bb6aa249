"""The control database: intake of intents, product and build status, approvals, audit and deployments.

SQLite under `$FACTORY_HOME/control.db` by default (WAL, busy timeout, writes in `BEGIN IMMEDIATE`
transactions so several processes share it), or any SQLAlchemy URL in `FACTORY_DATABASE_URL` (PostgreSQL
for the scaled profile, see `ontology.config`). An explicit `url` wins over the variable, and the variable
over `home`. Opening it brings its schema to the newest migration (`infra.control_schema`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Table, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, col, create_engine, select
from sqlmodel.sql.expression import SelectOfScalar

from infra import control_schema
from infra.audit import AuditVerdict, append, verify_chain
from infra.events import add_event
from infra.intent_claims import CLAIMABLE, IntentClaims, claiming
from infra.records import (
    APPROVAL_DECISIONS,
    AUDIT_OUTCOMES,
    DEPLOYMENT_STATUSES,
    INTENT_STATUSES,
    MAX_BLUEPRINT_CHARS,
    MAX_INTENT_CHARS,
    MAX_REASON_CHARS,
    ApprovalRecord,
    AuditEvent,
    BuildRecord,
    DeploymentRecord,
    EnvironmentRelease,
    EventRecord,
    GitHookRecord,
    IdempotencyRecord,
    IntentRecord,
    MembershipRecord,
    ProductRecord,
    TokenRecord,
    UserRecord,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    check_choice,
    check_commit,
    check_env,
    clean_text,
    utcnow,
)
from ontology.config import database_url, factory_home
from ontology.errors import InvalidInputError, NotFoundError
from ontology.refs import check_slug

__all__ = [
    "APPROVAL_DECISIONS",
    "AUDIT_OUTCOMES",
    "CLAIMABLE",
    "CONTROL_TABLES",
    "DEPLOYMENT_STATUSES",
    "INTENT_STATUSES",
    "ApprovalRecord",
    "AuditEvent",
    "BuildRecord",
    "ControlPlane",
    "DeploymentRecord",
    "IntentRecord",
    "MembershipRecord",
    "ProductRecord",
    "TokenRecord",
    "UserRecord",
    "control_tables",
]

_Row = TypeVar("_Row", bound=SQLModel)
_T = TypeVar("_T")
CONTROL_TABLES: tuple[type[SQLModel], ...] = (
    IntentRecord, ProductRecord, BuildRecord, ApprovalRecord, AuditEvent, DeploymentRecord, EnvironmentRelease,
    UserRecord, MembershipRecord, TokenRecord, EventRecord, WebhookEndpoint, WebhookDelivery, WebhookAttempt,
    IdempotencyRecord, GitHookRecord,
)  # fmt: skip
"""The control database's tables. A new one is listed here and gets a migration (see `infra.control_schema`)."""
_STAGE_EVENTS = {"running": "stage.started", "failed": "stage.failed"}
"""The event of a stage status; every other status (done, skipped, reused) is "stage.completed"."""


class ControlPlane(IntentClaims):
    """The factory's control database; open one per process, it is safe to share between threads."""

    def __init__(self, url: str | None = None, home: Path | None = None) -> None:
        url = url or database_url()
        if url is None:
            root = home if home is not None else factory_home()
            root.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{root / 'control.db'}"
        self.url = url
        self._sqlite = url.startswith("sqlite")
        if self._sqlite:
            in_memory = url in ("sqlite://", "sqlite:///:memory:")
            extra: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
            connect = {"timeout": 30.0, "check_same_thread": False}
            self.engine = create_engine(url, connect_args=connect, **extra)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self.schema = control_schema.upgrade(self.engine)

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[Session]:
        """A session; with `write`, SQLite takes the write lock first so read-then-write is atomic."""
        with Session(self.engine, expire_on_commit=False) as session:
            if write and self._sqlite:
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session
            session.commit()

    def _first(self, query: SelectOfScalar[_Row]) -> _Row | None:
        with self._session() as session:
            return session.exec(query.limit(1)).first()

    def _all(self, query: SelectOfScalar[_Row], tenant_column: Any, tenant: str | None) -> list[_Row]:
        if tenant is not None:
            query = query.where(col(tenant_column) == check_slug(tenant, "tenant"))
        with self._session() as session:
            return list(session.exec(query).all())

    # intents -------------------------------------------------------------------------------------

    def submit_intent(
        self,
        tenant: str,
        product: str,
        text: str,
        *,
        blueprint_yaml: str | None = None,
        actor: str = "cli",
        claim: str | None = None,
    ) -> tuple[IntentRecord, bool]:
        """Record an intent; an unchanged one returns the latest revision (a failed one is resubmitted).

        With `claim`, the intent is claimed for that build in the same transaction (see `claim_intent`):
        the returned record carries `claim` when it was won, another build's claim when one holds it.
        """
        check_slug(tenant, "tenant")
        check_slug(product, "product")
        actor = clean_text(actor, "actor", 200)
        if blueprint_yaml is not None:
            blueprint_yaml = clean_text(blueprint_yaml, "blueprint", MAX_BLUEPRINT_CHARS)
        text = clean_text(text, "intent", MAX_INTENT_CHARS, empty_ok=blueprint_yaml is not None)
        if claim is not None:
            claim = clean_text(claim, "claim", 200)
        return _retrying(lambda: self._submit(tenant, product, text, blueprint_yaml, actor, claim))

    def _submit(
        self, tenant: str, product: str, text: str, blueprint_yaml: str | None, actor: str, claim: str | None
    ) -> tuple[IntentRecord, bool]:
        with self._session(write=True) as session:
            latest = session.exec(_latest_intent(tenant, product)).first()
            created = latest is None or latest.text != text or latest.blueprint_yaml != blueprint_yaml
            if created:
                revision = 1 if latest is None else latest.revision + 1
                record = IntentRecord(
                    tenant=tenant, product=product, text=text, blueprint_yaml=blueprint_yaml, revision=revision,
                    actor=actor,
                )  # fmt: skip
                note = f"revision {revision}"
            else:
                assert latest is not None
                record, note = latest, f"unchanged, revision {latest.revision}"
                if latest.status == "failed":
                    latest.status, latest.detail, latest.updated_at = "submitted", None, utcnow()
                    note = f"resubmitted failed revision {latest.revision}"
            session.add(record)
            append(session, AuditEvent(actor=actor, action="intent.submit", outcome="ok", tenant=tenant,
                                       product=product, detail=note))  # fmt: skip
            session.flush()
            if claim is not None and record.id is not None:
                session.exec(claiming(record.id, claim, CLAIMABLE, None))
                session.refresh(record)
            if created or note.startswith("resubmitted"):
                data = {"intent_id": record.id, "revision": record.revision, "actor": actor, "note": note}
                add_event(session, "intent.submitted", tenant=tenant, product=product, trace_id=record.trace_id,
                          data=data)  # fmt: skip
            return record, created

    def latest_intent(self, tenant: str, product: str) -> IntentRecord | None:
        """The newest revision of a product's intent, or None if it has none."""
        return self._first(_latest_intent(check_slug(tenant, "tenant"), check_slug(product, "product")))

    def intent(self, id: int) -> IntentRecord:
        """The intent with this id; NotFoundError if there is none."""
        record = self._first(select(IntentRecord).where(IntentRecord.id == id))
        if record is None:
            raise NotFoundError(f"no intent with id {id}: list them with `factory intents`")
        return record

    def intents(self, tenant: str | None = None, status: str | None = None) -> list[IntentRecord]:
        """Intents, newest first, optionally of one tenant and one status."""
        query = select(IntentRecord).order_by(col(IntentRecord.id).desc())
        if status is not None:
            query = query.where(IntentRecord.status == check_choice(status, INTENT_STATUSES, "intent status"))
        return self._all(query, IntentRecord.tenant, tenant)

    def set_intent_status(
        self, id: int, status: str, *, trace_id: str | None = None, run_id: str | None = None, detail: str | None = None
    ) -> IntentRecord:
        """Set an intent's status, and its trace id, run id and detail when given."""
        check_choice(status, INTENT_STATUSES, "intent status")
        with self._session(write=True) as session:
            record = session.get(IntentRecord, id)
            if record is None:
                raise NotFoundError(f"no intent with id {id}: list them with `factory intents`")
            record.status, record.updated_at = status, utcnow()
            record.trace_id = trace_id if trace_id is not None else record.trace_id
            record.run_id = run_id if run_id is not None else record.run_id
            if detail is not None:
                record.detail = clean_text(detail, "detail", MAX_INTENT_CHARS, empty_ok=True)
            session.add(record)
            return record

    # products, builds and deployments ------------------------------------------------------------

    def _upsert(
        self, model: type[_Row], keys: dict[str, Any], fields: dict[str, Any], stamp: str | None,
        then: Callable[[Session, _Row], object] | None = None,
    ) -> _Row:  # fmt: skip
        allowed = set(model.model_fields) - set(keys) - {"id"}
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise InvalidInputError(f"unknown {model.__name__} fields {unknown}: use {sorted(allowed)}")
        try:
            checked = model.model_validate({**keys, **fields})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise InvalidInputError(f"invalid {model.__name__} field {where}: {first['msg']}") from None
        values = {name: getattr(checked, name) for name in fields}
        if stamp is not None:
            values.setdefault(stamp, utcnow())

        def write() -> _Row:
            with self._session(write=True) as session:
                query = select(model).with_for_update()
                for name, value in keys.items():
                    query = query.where(col(getattr(model, name)) == value)
                row = session.exec(query).first() or model(**keys)
                for name, value in values.items():
                    setattr(row, name, value)
                session.add(row)
                session.flush()
                if then is not None:
                    then(session, row)
                return row

        return _retrying(write)

    def upsert_product(self, tenant: str, product: str, **fields: Any) -> ProductRecord:
        """Create or update a product's row; only the fields given change (stages and durations are replaced)."""
        keys = {"tenant": check_slug(tenant, "tenant"), "product": check_slug(product, "product")}
        return self._upsert(ProductRecord, keys, fields, "updated_at")

    def set_stage(
        self, tenant: str, product: str, stage: str, status: str, duration_s: float | None = None,
        trace_id: str | None = None,
    ) -> None:  # fmt: skip
        """Set one stage's status (and duration) of a product, keeping the other stages as they are.

        The stage's event (started, completed or failed) is written in the same transaction."""
        tenant, product = check_slug(tenant, "tenant"), check_slug(product, "product")

        def write() -> None:
            with self._session(write=True) as session:
                row = session.exec(_product(tenant, product).with_for_update()).first()
                row = row or ProductRecord(tenant=tenant, product=product)
                row.stages = {**row.stages, stage: status}
                if duration_s is not None:
                    row.durations = {**row.durations, stage: float(duration_s)}
                row.updated_at = utcnow()
                session.add(row)
                data: dict[str, Any] = {"stage": stage, "status": status}
                if duration_s is not None:
                    data["duration_s"] = float(duration_s)
                add_event(session, _STAGE_EVENTS.get(status, "stage.completed"), tenant=tenant, product=product,
                          trace_id=trace_id or row.trace_id, data=data)  # fmt: skip

        _retrying(write)

    def product(self, tenant: str, product: str) -> ProductRecord | None:
        """The product's row, or None if the factory has not seen it."""
        return self._first(_product(check_slug(tenant, "tenant"), check_slug(product, "product")))

    def products(self, tenant: str | None = None) -> list[ProductRecord]:
        """All products, or one tenant's, by tenant and name."""
        query = select(ProductRecord).order_by(col(ProductRecord.tenant), col(ProductRecord.product))
        return self._all(query, ProductRecord.tenant, tenant)

    def record_build(
        self, tenant: str, product: str, *, revision: int, trace_id: str, template: str, passed: bool,
        patterns: Sequence[str] | str = "", tests_passed: int = 0, tests_failed: int = 0, lint_findings: int = 0,
        duration_s: float = 0.0, p95_ms: float | None = None, error_rate: float | None = None, slo_breaches: int = 0,
    ) -> BuildRecord:  # fmt: skip
        """Record the outcome of one build (passed or failed); breached SLOs are an event in the same transaction."""
        row = BuildRecord(
            tenant=check_slug(tenant, "tenant"), product=check_slug(product, "product"), revision=revision,
            trace_id=trace_id, template=template, passed=bool(passed),
            patterns=patterns if isinstance(patterns, str) else ",".join(patterns),
            tests_passed=tests_passed, tests_failed=tests_failed, lint_findings=lint_findings,
            duration_s=duration_s, p95_ms=p95_ms, error_rate=error_rate, slo_breaches=slo_breaches,
        )  # fmt: skip
        with self._session(write=True) as session:
            session.add(row)
            session.flush()
            if slo_breaches > 0:
                add_event(session, "slo.breached", tenant=row.tenant, product=row.product, trace_id=trace_id,
                          data={"revision": revision, "breaches": slo_breaches, "p95_ms": p95_ms,
                                "error_rate": error_rate})  # fmt: skip
            return row

    def builds(self, tenant: str | None = None, product: str | None = None) -> list[BuildRecord]:
        """Finished builds, newest first, optionally of one tenant (and product)."""
        query = select(BuildRecord).order_by(col(BuildRecord.id).desc())
        if product is not None:
            query = query.where(BuildRecord.product == check_slug(product, "product"))
        return self._all(query, BuildRecord.tenant, tenant)

    def upsert_deployment(self, tenant: str, product: str, env: str = "dev", **fields: Any) -> DeploymentRecord:
        """Create or update where a product runs in `env`; only the given fields change ("running" restamps)."""
        if "status" in fields:
            check_choice(fields["status"], DEPLOYMENT_STATUSES, "deployment status")
            if fields["status"] == "running":
                fields.setdefault("started_at", utcnow())
        keys = {
            "tenant": check_slug(tenant, "tenant"),
            "product": check_slug(product, "product"),
            "env": check_env(env),
        }
        return self._upsert(DeploymentRecord, keys, fields, None, _deployment_event if "status" in fields else None)

    def deployment(self, tenant: str, product: str, env: str = "dev") -> DeploymentRecord | None:
        """Where the product runs in `env`, or None."""
        return self._first(
            select(DeploymentRecord).where(
                DeploymentRecord.tenant == check_slug(tenant, "tenant"),
                DeploymentRecord.product == check_slug(product, "product"),
                DeploymentRecord.env == check_env(env),
            )
        )

    def deployments(self, tenant: str | None = None, status: str | None = None) -> list[DeploymentRecord]:
        """Deployments, optionally of one tenant and one status."""
        query = select(DeploymentRecord).order_by(col(DeploymentRecord.tenant), col(DeploymentRecord.product))
        if status is not None:
            checked = check_choice(status, DEPLOYMENT_STATUSES, "deployment status")
            query = query.where(DeploymentRecord.status == checked)
        return self._all(query, DeploymentRecord.tenant, tenant)

    def record_release(
        self, tenant: str, product: str, env: str, commit: str, *, revision: int | None, trace_id: str | None,
        rolled_back: bool = False,
    ) -> EnvironmentRelease:  # fmt: skip
        """Note that `commit` now takes `env`'s traffic; the release it follows is "replaced" (or "rolled-back").

        Recorded once per build: the same build's step run again (its worker lost mid-step) finds `commit`
        already running under its trace id and changes nothing."""
        tenant, product, env = check_slug(tenant, "tenant"), check_slug(product, "product"), check_env(env)
        with self._session(write=True) as session:
            query = select(EnvironmentRelease).where(
                EnvironmentRelease.tenant == tenant,
                EnvironmentRelease.product == product,
                EnvironmentRelease.env == env,
                EnvironmentRelease.status == "running",
            )
            running = session.exec(query).all()
            commit = check_commit(commit)
            again = [r for r in running if trace_id is not None and (r.commit, r.trace_id) == (commit, trace_id)]
            if again and not rolled_back:
                return again[0]
            for old in running:
                old.status = "rolled-back" if rolled_back else "replaced"
                session.add(old)
            row = EnvironmentRelease(
                tenant=tenant, product=product, env=env, commit=commit, revision=revision, trace_id=trace_id
            )
            session.add(row)
            session.flush()
            add_event(
                session,
                "release.made",
                tenant=tenant,
                product=product,
                trace_id=trace_id,
                data={"env": env, "commit": row.commit, "revision": revision, "rolled_back": rolled_back},
            )
            return row

    def releases(self, tenant: str, product: str, env: str) -> list[EnvironmentRelease]:
        """The releases that took `env`'s traffic, newest first."""
        query = (
            select(EnvironmentRelease)
            .where(col(EnvironmentRelease.product) == check_slug(product, "product"))
            .where(col(EnvironmentRelease.env) == check_env(env))
            .order_by(col(EnvironmentRelease.id).desc())
        )
        return self._all(query, EnvironmentRelease.tenant, tenant)

    # governance ----------------------------------------------------------------------------------

    def decide(
        self, tenant: str, product: str, env: str, commit: str, decision: str, reason: str, actor: str
    ) -> ApprovalRecord:
        """Record an approval or rejection of promoting exactly `commit` to `env` (and its event)."""
        row = ApprovalRecord(
            tenant=check_slug(tenant, "tenant"), product=check_slug(product, "product"), env=check_env(env),
            commit=check_commit(commit), decision=check_choice(decision, APPROVAL_DECISIONS, "decision"),
            reason=clean_text(reason, "reason", MAX_REASON_CHARS), actor=clean_text(actor, "actor", 200),
        )  # fmt: skip
        with self._session(write=True) as session:
            session.add(row)
            session.flush()
            kind = "promotion.approved" if row.decision == "approved" else "promotion.rejected"
            add_event(
                session,
                kind,
                tenant=row.tenant,
                product=row.product,
                data={"env": row.env, "commit": row.commit, "actor": row.actor, "reason": row.reason},
            )
            return row

    def approval_for(self, tenant: str, product: str, env: str, commit: str) -> ApprovalRecord | None:
        """The latest decision on promoting exactly this commit to `env`, or None."""
        return self._first(
            select(ApprovalRecord)
            .where(
                ApprovalRecord.tenant == check_slug(tenant, "tenant"),
                ApprovalRecord.product == check_slug(product, "product"),
                ApprovalRecord.env == check_env(env),
                ApprovalRecord.commit == check_commit(commit),
            )
            .order_by(col(ApprovalRecord.id).desc())
        )

    def approvals(self, tenant: str | None = None) -> list[ApprovalRecord]:
        """Decisions, newest first, optionally of one tenant."""
        return self._all(select(ApprovalRecord).order_by(col(ApprovalRecord.id).desc()), ApprovalRecord.tenant, tenant)

    def audit(
        self, action: str, outcome: str, *, tenant: str | None = None, product: str | None = None,
        actor: str = "factory", detail: str = "", event: tuple[str, dict[str, Any]] | None = None,
        trace_id: str | None = None,
    ) -> AuditEvent:  # fmt: skip
        """Append an event to the audit chain (see `infra.audit`); with `event` (type, data), a lifecycle
        event of the tenant's product is written in the same transaction."""
        audited = AuditEvent(
            actor=clean_text(actor, "actor", 200), action=clean_text(action, "action", 100),
            outcome=check_choice(outcome, AUDIT_OUTCOMES, "audit outcome"),
            tenant=None if tenant is None else check_slug(tenant, "tenant"),
            product=None if product is None else check_slug(product, "product"),
            detail=clean_text(detail, "detail", MAX_INTENT_CHARS, empty_ok=True),
        )  # fmt: skip

        def write() -> AuditEvent:
            with self._session(write=True) as session:
                entry = append(session, AuditEvent.model_validate(audited.model_dump()))
                if event is not None and audited.tenant is not None:
                    add_event(session, event[0], tenant=audited.tenant, product=audited.product, trace_id=trace_id,
                              data=event[1])  # fmt: skip
                return entry

        return _retrying(write)

    def emit(
        self, kind: str, tenant: str, product: str | None = None, *, trace_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> EventRecord:  # fmt: skip
        """Write a lifecycle event that is a change of its own (a check's verdict kept outside this database)."""
        tenant = check_slug(tenant, "tenant")
        product = None if product is None else check_slug(product, "product")

        def write() -> EventRecord:
            with self._session(write=True) as session:
                return add_event(session, kind, tenant=tenant, product=product, trace_id=trace_id, data=data)

        return _retrying(write)

    def verify_audit(self) -> AuditVerdict:
        """Recompute the audit chain: how many entries hold together, and the first altered or missing one."""
        with self._session() as session:
            return verify_chain(session)

    def audit_log(self, tenant: str | None = None, limit: int = 200) -> list[AuditEvent]:
        """The newest audit events first, optionally of one tenant."""
        query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(max(0, limit))
        return self._all(query, AuditEvent.tenant, tenant)


def _deployment_event(session: Session, row: DeploymentRecord) -> None:
    """A deployment that starts running, or stops (or fails), is an event in its own transaction."""
    kind = "deployment.started" if row.status == "running" else "deployment.stopped"
    data = {"env": row.env, "status": row.status, "url": row.url, "revision": row.revision, "commit": row.commit}
    add_event(session, kind, tenant=row.tenant, product=row.product, trace_id=row.trace_id, data=data)


def control_tables() -> list[Table]:
    """The tables of `CONTROL_TABLES`, as their classes declare them."""
    return [SQLModel.metadata.tables[str(model.__tablename__)] for model in CONTROL_TABLES]


def _latest_intent(tenant: str, product: str) -> SelectOfScalar[IntentRecord]:
    query = select(IntentRecord).where(IntentRecord.tenant == tenant, IntentRecord.product == product)
    return query.order_by(col(IntentRecord.revision).desc()).limit(1)


def _product(tenant: str, product: str) -> SelectOfScalar[ProductRecord]:
    return select(ProductRecord).where(ProductRecord.tenant == tenant, ProductRecord.product == product)


def _retrying(write: Callable[[], _T]) -> _T:
    """Run a write again when a concurrent insert took its unique key (PostgreSQL; SQLite serializes writers)."""
    for _attempt in range(2):
        try:
            return write()
        except IntegrityError:
            continue
    return write()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work beside the one writer; the busy timeout makes writers wait instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()
