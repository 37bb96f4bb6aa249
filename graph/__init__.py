"""The knowledge platform: RDF facts, their property-graph projection and vector memory.

The public names load their modules on first use (PEP 562), so importing `graph` for a
constant or a type does not start Kùzu, polars, numpy or an embedding model: a command
refuses bad input before any engine is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ontology.lazy import lazy_exports

if TYPE_CHECKING:
    from graph.facts import ProductFacts
    from graph.knowledge_graph import KnowledgeGraph, Match, QueryResult
    from graph.provenance import AgentRef, record_activity
    from graph.query_guard import USER_QUERY_ROWS, USER_QUERY_TIMEOUT_S
    from graph.trace import TraceStep

__all__ = [
    "USER_QUERY_ROWS",
    "USER_QUERY_TIMEOUT_S",
    "AgentRef",
    "KnowledgeGraph",
    "Match",
    "ProductFacts",
    "QueryResult",
    "TraceStep",
    "record_activity",
]

_HOME = {
    "USER_QUERY_ROWS": "graph.query_guard",
    "USER_QUERY_TIMEOUT_S": "graph.query_guard",
    "AgentRef": "graph.provenance",
    "KnowledgeGraph": "graph.knowledge_graph",
    "Match": "graph.knowledge_graph",
    "ProductFacts": "graph.facts",
    "QueryResult": "graph.knowledge_graph",
    "TraceStep": "graph.trace",
    "record_activity": "graph.provenance",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOME)
