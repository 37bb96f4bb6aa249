"""`factory worker`: one Celery worker that runs the steps of queued builds (scaled profile with a broker)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["worker"]


def worker(
    name: Annotated[str, typer.Option(help="The worker's name (its Celery hostname is NAME@<this host>).")] = "worker",
    loglevel: Annotated[str, typer.Option(help="Celery's log level.")] = "WARNING",
) -> None:
    """Take build steps from the broker's queue (FACTORY_WORKER_QUEUE) and run them, one at a time, until stopped.

    Any machine can run one: it needs the same FACTORY_HOME (a shared volume), DAGSTER_POSTGRES_URL,
    FACTORY_DATABASE_URL and FACTORY_BROKER_URL as the daemon, and FACTORY_PROFILE=scaled."""
    from assets.workers import start_worker

    start_worker(name, loglevel.upper())
