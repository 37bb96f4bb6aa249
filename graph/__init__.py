"""The knowledge platform: RDF facts, their property-graph projection and vector memory."""

from graph.facts import ProductFacts
from graph.knowledge_graph import (
    USER_QUERY_ROWS,
    USER_QUERY_TIMEOUT_S,
    KnowledgeGraph,
    Match,
    QueryResult,
)
from graph.provenance import AgentRef, record_activity
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
