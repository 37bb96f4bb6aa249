"""What every agent is: a small class with a name, a role, a version and one method.

The caller records each run as a PROV activity associated with the agent (see
graph.provenance.record_activity, which takes `agent.ref`).
"""

from __future__ import annotations

from typing import ClassVar

from graph.provenance import AgentRef

__all__ = ["Agent"]


class Agent:
    name: ClassVar[str]
    role: ClassVar[str]
    version: ClassVar[str] = "1.0.0"

    @property
    def ref(self) -> AgentRef:
        return AgentRef(self.name, self.version, self.role)
