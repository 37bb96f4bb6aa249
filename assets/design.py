"""Lifecycle assets from intent to generated code: intent, requirements, blueprint, artifacts, validation.

Generated from the stage table (see assets.stages); the work is in infra.lifecycle.
"""

from assets.stages import LIFECYCLE_ASSETS

__all__ = ["artifacts", "blueprint", "intent", "requirements", "validation"]

intent = LIFECYCLE_ASSETS["intent"]
requirements = LIFECYCLE_ASSETS["requirements"]
blueprint = LIFECYCLE_ASSETS["blueprint"]
artifacts = LIFECYCLE_ASSETS["artifacts"]
validation = LIFECYCLE_ASSETS["validation"]
