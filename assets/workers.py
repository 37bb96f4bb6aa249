"""The Celery executor of the scaled profile's builds, and the workers that run their steps.

With `FACTORY_PROFILE=scaled` and `FACTORY_BROKER_URL` set, the lifecycle job's executor is dagster-celery's:
the run worker the daemon starts orchestrates the build and sends each step, as a Celery task, to the broker's
queue `FACTORY_WORKER_QUEUE`; a worker (`factory worker`, on this machine or another one that shares the
factory home and reaches PostgreSQL and the broker) takes it, runs the step and writes its events to the
instance's PostgreSQL storage. The embedded profile keeps the in-process / multiprocess executor.

A worker killed mid-step loses nothing: tasks are acknowledged late (after the step ran) and rejected when
their worker is lost, so the broker hands the unacknowledged step to another worker, which runs it again in
the same run (the stages are idempotent: a stage whose inputs did not change reuses its stored result, the
facts of a stage replace the earlier run's and the product's graph is replaced whole, the control database's
stage status is an upsert). Each worker runs one step at a time in its own process (Celery's `solo` pool):
killing it stops the step it ran and nothing else, where a prefork pool's children would outlive their parent.
Dagster's run retries would instead start the whole build again, and only after the orchestrator noticed.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from dagster import ExecutorDefinition, multi_or_in_process_executor

from ontology.config import ConfigError, Settings, redact, settings

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["build_executor", "celery_options", "start_worker", "worker_app"]

BACKEND = "rpc://"
"""Step results go back to the orchestrating run worker over the broker itself (no result store)."""


def celery_options(config: Settings) -> dict[str, Any]:
    """The Celery settings the executor and the workers share: the queue, late acknowledgement, one step at a
    time per worker."""
    options: dict[str, Any] = {
        "task_default_queue": config.worker_queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
    }
    if (config.broker_url or "").startswith(("redis://", "rediss://")):
        # Redis has no connection-bound acknowledgement: a lost worker's step goes back to the queue once it has
        # been unacknowledged for `visibility_s`, found by an idle worker's sweep (every 5 s here, not 100 s).
        options["broker_transport_options"] = {
            "visibility_timeout": config.visibility_s,
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        }
    return options


def build_executor(config: Settings | None = None) -> ExecutorDefinition:
    """The lifecycle job's executor: Celery's in the scaled profile with a broker, else in-process/multiprocess.

    The broker URL is read from the environment where the run executes (never stored in a run's config)."""
    config = config or settings()
    if not config.celery:
        return multi_or_in_process_executor
    from dagster_celery import celery_executor

    return celery_executor.configured(
        {"broker": {"env": "FACTORY_BROKER_URL"}, "backend": BACKEND, "config_source": celery_options(config)},
        name="celery",
    )


def worker_app(config: Settings) -> Celery:
    """The Celery application of a worker: the broker, the shared settings and dagster-celery's step task."""
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    assert config.broker_url is not None
    app = make_app(
        {"broker": config.broker_url, "backend": BACKEND, "include": [], "config_source": celery_options(config)}
    )
    create_task(app)
    return app


def start_worker(name: str | None = None, loglevel: str = "WARNING") -> None:
    """Run one Celery worker in this process until it is stopped: it takes build steps from the queue, one at a
    time. Refused in one line unless the profile is scaled with a broker."""
    from assets.builds import dagster_home  # it imports the definitions, whose lifecycle job imports this module

    config = settings()
    if not config.celery:
        raise ConfigError(
            "a Celery worker needs FACTORY_PROFILE=scaled and FACTORY_BROKER_URL (amqp:// or redis://): "
            "see docs/scaling.md"
        )
    dagster_home(config.home)  # the steps open the instance this machine's DAGSTER_HOME names
    hostname = f"{name or 'worker'}@{socket.gethostname()}"
    print(f"worker {hostname} takes steps from queue {config.worker_queue!r} on {redact(config.broker_url or '')}")
    worker_app(config).worker_main(
        ["worker", "--pool", "solo", "--queues", config.worker_queue, "--hostname", hostname,
         "--loglevel", loglevel, "--without-gossip", "--without-mingle"]
    )  # fmt: skip
