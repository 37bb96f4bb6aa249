"""What every agent is: a small class with a name, a role, a version and one method.

An agent's name, version and role come from its row of the stage table (ontology.lifecycle),
so the facts of every build describe it the same way; the stage recorder (graph.recorder)
associates each run with it.
"""

from __future__ import annotations

from typing import ClassVar

from ontology.lifecycle import AgentRef

__all__ = ["Agent"]


class Agent:
    name: ClassVar[str]
    role: ClassVar[str]
    version: ClassVar[str] = "1.0.0"

    @property
    def ref(self) -> AgentRef:
        return AgentRef(self.name, self.version, self.role)
