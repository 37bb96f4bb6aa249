"""Knowledge: SPARQL and Cypher consoles over the tenant's graph, and semantic search over past products."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from graph import USER_QUERY_ROWS, USER_QUERY_TIMEOUT_S, QueryResult
from studio import diagrams, queries, state, views

BOUNDS: dict[str, Any] = {"max_rows": USER_QUERY_ROWS, "timeout_s": USER_QUERY_TIMEOUT_S}
"""A person's query reads at most this many rows, for at most this long (as the command line's defaults)."""


def _load_example(language: str, examples: dict[str, str]) -> None:
    st.session_state[f"{language}_text"] = examples[st.session_state[f"{language}_example"]]


def console(language: str, examples: dict[str, str], run: Callable[[str], QueryResult]) -> None:
    """An example picker, a query editor, a run button, and the result as a table and as a graph."""
    st.session_state.setdefault(f"{language}_text", next(iter(examples.values())))
    st.selectbox(
        "Example queries", list(examples), key=f"{language}_example", on_change=_load_example, args=(language, examples)
    )
    st.text_area(f"{language.upper() if language == 'sparql' else 'Cypher'} query", key=f"{language}_text", height=180)
    if st.button(f"Run {'SPARQL' if language == 'sparql' else 'Cypher'}", key=f"{language}_run", type="primary"):
        st.session_state.pop(f"{language}_result", None)
        with state.guard("The query"):
            st.session_state[f"{language}_result"] = run(st.session_state[f"{language}_text"])
    result: QueryResult | None = st.session_state.get(f"{language}_result")
    if result is None:
        return
    if result.boolean is not None:
        st.success(f"ASK: {result.boolean}")
        return
    more = f" (the query has more rows: only the first {len(result.rows):,} were read)" if result.truncated else ""
    st.caption(f"{len(result.rows):,} rows" + (" (first 5,000 shown)" if len(result.rows) > 5000 else "") + more)
    table, drawing = st.tabs(["Table", "Graph"])
    table.dataframe(views.query_rows(result), hide_index=True)
    if result.rows:
        drawing.graphviz_chart(diagrams.result_dot(result), width="stretch")
        drawing.caption("The first 150 rows: each row links its first column to the others (s, p, o as edges).")


def search() -> None:
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.text_input("Search past products and intents", key="search_text", placeholder="e.g. billing and payments")
    k = right.number_input("Results", min_value=1, max_value=50, value=5, key="search_k")
    if st.button("Search", key="search_run"):
        with state.guard("The search"), st.spinner("Searching…"):
            found = state.knowledge_graph().similar(st.session_state["search_text"], int(k), tenant=state.tenant())
            if not found:
                st.info(f"Nothing in {state.tenant_label()}'s memory yet.")
            st.dataframe(
                [
                    {"score": round(m.score, 3), "kind": m.kind, "product": f"{m.tenant}/{m.product}", "text": m.text}
                    for m in found
                ],
                hide_index=True,
            )


st.title("Knowledge")
st.caption(f"Read-only queries over {state.tenant_label()}'s graphs (plus the shared ontology and patterns).")
sparql_tab, cypher_tab, search_tab = st.tabs(["SPARQL", "Cypher", "Semantic search"])
with sparql_tab:
    console("sparql", queries.SPARQL_EXAMPLES, lambda q: state.knowledge_graph().sparql(q, state.tenant(), **BOUNDS))
with cypher_tab:
    console("cypher", queries.CYPHER_EXAMPLES, lambda q: state.knowledge_graph().cypher(q, state.tenant(), **BOUNDS))
with search_tab:
    search()
