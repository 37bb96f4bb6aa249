"""Lifecycle assets from validated code to knowledge: release, deployment, telemetry, knowledge.

Generated from the stage table (see assets.stages); the work is in infra.lifecycle.
"""

from assets.stages import LIFECYCLE_ASSETS

__all__ = ["deployment", "knowledge", "release", "telemetry"]

release = LIFECYCLE_ASSETS["release"]
deployment = LIFECYCLE_ASSETS["deployment"]
telemetry = LIFECYCLE_ASSETS["telemetry"]
knowledge = LIFECYCLE_ASSETS["knowledge"]
