"""New product: describe it (or upload a blueprint), settle the analyst's open questions, preview and edit
what the agents propose (as YAML or as a table), build, follow."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import streamlit as st

from generators.blueprint import MAX_BLUEPRINT_BYTES, BlueprintError, dump_blueprint, load_blueprint
from generators.blueprint_table import attribute_rows, blueprint_from_rows
from generators.pipeline import Proposal
from graph.decisions import record_decisions
from infra.access import Resource
from ontology.errors import InvalidInputError
from ontology.models import DATA_TYPES, Answer, Blueprint, OpenQuestion
from ontology.refs import ProductRef, check_slug
from studio import diagrams, jobs, state

EXAMPLE = "A multi-tenant invoicing service where customers receive invoices with line items and pay them by card."


def _inputs() -> tuple[str, str, str]:
    left, right = st.columns(2)
    left.text_input(
        "Tenant of the product", value=state.tenant() or "", key="np_tenant", help="Lowercase letters, digits, hyphens."
    )
    right.text_input("Product slug (optional)", key="np_product", help="Left empty, the agents name the product.")
    st.text_area(
        "Intent", key="np_intent", height=110, placeholder=EXAMPLE, help="The business intent, in plain words."
    )
    return st.session_state["np_tenant"].strip(), st.session_state["np_product"].strip(), st.session_state["np_intent"]


def _set_proposal(
    source: str, tenant: str, intent: str, yaml_text: str, notes: list[str], proposal: Proposal | None = None
) -> None:
    requirements = proposal.requirements if proposal is not None else None
    st.session_state["np_proposal"] = {
        "source": source,
        "tenant": tenant,
        "intent": intent,
        "yaml": yaml_text,
        "questions": [q.model_dump() for q in requirements.open_questions] if requirements else [],
        "answers": [a.model_dump() for a in requirements.answers] if requirements else [],
        "version": st.session_state.get("np_version", 0) + 1,  # fresh question controls for each proposal
    }
    st.session_state["np_version"] = st.session_state["np_proposal"]["version"]
    st.session_state["np_notes"] = notes
    st.session_state["np_yaml"] = yaml_text


def propose(tenant: str, product: str, intent: str, answers: Mapping[str, str] | None = None) -> None:
    """Ask the agents for a blueprint (with answers to the analyst's questions) and keep it, editable."""
    check_slug(tenant, "tenant")
    if product:
        check_slug(product, "product")
    if not intent.strip():
        raise InvalidInputError("the intent is empty: say in a sentence or two what the service is for")
    with st.spinner("The analyst and the architect are planning…"):
        proposal = state.planner().propose(intent, tenant, product or None, answers)
    _set_proposal("agents", tenant, intent, dump_blueprint(proposal.blueprint), proposal.notes, proposal)


def _choose(question: OpenQuestion, chosen: str, key: str, help_text: str | None = None) -> str:
    """One control per question, `chosen` preselected: radio buttons, or a list when there are many choices."""
    index = question.choices.index(chosen)
    if len(question.choices) <= 4:
        value = st.radio(
            question.text, question.choices, index=index, format_func=question.label, key=key, help=help_text
        )
    else:
        value = st.selectbox(
            question.text, question.choices, index=index, format_func=question.label, key=key, help=help_text
        )
    return str(value)


def questions(tenant: str, product: str, intent: str) -> None:
    """The analyst's open questions (and those settled before), one control each; the answers rebuild the proposal."""
    proposal: dict[str, Any] | None = st.session_state.get("np_proposal")
    if proposal is None or not (proposal["questions"] or proposal["answers"]):
        return
    asked = [OpenQuestion.model_validate(q) for q in proposal["questions"]]
    settled = [Answer.model_validate(a) for a in proposal["answers"]]
    st.subheader("Open questions" if asked else "Settled questions")
    version = proposal["version"]
    with st.form("np_questions"):
        answers = {q.id: _choose(q, q.default, f"np_q_{version}_{q.id}") for q in asked}
        for a in settled:
            how = f"decided earlier by {a.decided_by or 'a person'}" if a.remembered else "answered"
            value = _choose(a.question, a.choice, f"np_q_{version}_{a.question.id}", how)
            if value != a.choice or not a.remembered:
                answers[a.question.id] = value
        remember = st.checkbox(f"Remember these answers for {proposal['tenant']}'s next intents", value=True)
        submitted = st.form_submit_button("Rebuild the proposal with these answers", icon=":material/refresh:")
    if submitted:
        if proposal["intent"] != intent or proposal["tenant"] != tenant:
            raise InvalidInputError("the intent or the tenant changed: propose a blueprint for it first")
        propose(tenant, product, intent, answers)
        if remember:
            now = [Answer.model_validate(a) for a in st.session_state["np_proposal"]["answers"]]
            record_decisions(state.knowledge_graph(), tenant, now)
            propose(tenant, product, intent)  # the answers come back as the tenant's decisions
        st.rerun()


def upload(tenant: str, intent: str) -> None:
    """Read an uploaded blueprint YAML; it becomes the proposal to edit and build."""
    file = st.session_state.get("np_upload")
    if file is None or st.session_state.get("np_upload_id") == file.file_id:
        return
    st.session_state["np_upload_id"] = file.file_id
    data = file.getvalue()
    if len(data) > MAX_BLUEPRINT_BYTES:
        raise InvalidInputError(f"{file.name} has {len(data):,} bytes: a blueprint is at most {MAX_BLUEPRINT_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{file.name} is not UTF-8 text: upload a blueprint YAML file") from None
    bp = load_blueprint(text)
    if tenant and bp.tenant != tenant:
        raise InvalidInputError(f"{file.name} is a blueprint for tenant {bp.tenant}, not {tenant}: change the tenant")
    _set_proposal("upload", bp.tenant, intent, text, [f"uploaded {file.name}"])


def preview() -> Blueprint | None:
    """The (edited) blueprint drawn as a diagram; its problems listed when it is not valid."""
    proposal: dict[str, Any] | None = st.session_state.get("np_proposal")
    if proposal is None:
        return None
    st.subheader("Blueprint")
    diagram = st.container()
    editor, table = st.columns(2)
    with state.guard("Applying the table's edits"):
        edit_table(table)  # first: its edits become the YAML below
    editor.text_area("Blueprint YAML (edit it; the diagram follows)", key="np_yaml", height=420)
    try:
        bp = load_blueprint(st.session_state["np_yaml"])
    except BlueprintError as error:
        diagram.error("The edited blueprint is not valid:\n\n" + "\n".join(f"- {i}" for i in error.issues))
        return None
    except InvalidInputError as error:
        diagram.error(f"The edited blueprint is not valid: {error}")
        return None
    diagram.graphviz_chart(diagrams.blueprint_dot(bp), width="stretch")
    diagram.caption(
        f"**{bp.name}** — `{bp.tenant}/{bp.slug}`: {len(bp.entities)} entities, {len(bp.relationships)} relationships"
    )
    with diagram.expander("What the agents noted"):
        for note in st.session_state.get("np_notes", []):
            st.markdown(f"- {note}")
    return bp


def edit_table(place: Any) -> None:
    """Entities and attributes as an editable table beside the YAML; an edit rewrites the YAML."""
    text = st.session_state["np_yaml"]
    try:
        bp = load_blueprint(text)
    except InvalidInputError:
        place.caption("The table shows the entities and attributes once the YAML is valid.")
        return
    rows = attribute_rows(bp)
    edited = place.data_editor(
        rows,
        key="np_table_" + hashlib.sha256(text.encode()).hexdigest()[:16],  # a fresh table for each YAML
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "type": st.column_config.SelectboxColumn("type", options=list(DATA_TYPES), required=True),
            "values": st.column_config.TextColumn("values", help="An enum's values, separated by '|'."),
        },
    )
    records = edited.to_dict("records") if hasattr(edited, "to_dict") else list(edited)
    if records != rows:
        st.session_state["np_yaml"] = dump_blueprint(blueprint_from_rows(bp, records))
        st.rerun()


def submit(tenant: str, product: str, intent: str, bp: Blueprint | None) -> None:
    """Record the intent and start its build in the background; the page then follows it."""
    check_slug(tenant, "tenant")
    proposal: dict[str, Any] | None = st.session_state.get("np_proposal")
    blueprint_yaml = None
    if proposal is not None:
        if bp is None:
            raise InvalidInputError("fix the blueprint first: its problems are listed above")
        if bp.tenant != tenant:
            raise InvalidInputError(f"the blueprint is for tenant {bp.tenant}, not {tenant}: change one of them")
        edited = st.session_state["np_yaml"]
        if proposal["source"] == "upload" or edited.strip() != proposal["yaml"].strip() or proposal["intent"] != intent:
            blueprint_yaml = edited
        product = bp.slug
    elif not intent.strip():
        raise InvalidInputError("the intent is empty: say in a sentence or two what the service is for")
    elif not product:
        with st.spinner("Naming the product…"):
            product = state.planner().propose(intent, tenant).blueprint.slug
    if blueprint_yaml is None and not intent.strip():
        raise InvalidInputError("the intent is empty: say in a sentence or two what the service is for")
    state.allow("build", Resource.of(ProductRef(tenant, product)))
    job = jobs.start_build(
        state.control(), state.home(), tenant, product, intent, blueprint_yaml=blueprint_yaml, actor=state.actor()
    )
    st.session_state["np_job"] = job
    state.request_tenant(tenant)
    st.rerun()


def follow() -> None:
    """The started build's progress, read from the control database every two seconds until it ends."""
    job: jobs.BuildJob | None = st.session_state.get("np_job")
    if job is None:
        return
    st.subheader(f"Build of {job.tenant}/{job.product} (revision {job.revision})")
    done = jobs.progress(state.control(), job)

    @st.fragment(run_every=None if done.finished else 2)
    def live() -> None:
        now = jobs.progress(state.control(), job)
        if now.finished != done.finished:
            st.rerun(scope="app")
        label = now.progress.running or now.status
        st.progress(now.progress.fraction, text=f"{now.progress.done}/{now.progress.total} stages — {label}")
        if now.stages:
            st.dataframe([now.stages], hide_index=True)
        if now.failed:
            st.error(f"The build of {job.tenant}/{job.product} failed: {now.detail}")
        elif now.finished:
            st.success(f"{job.tenant}/{job.product} is built (trace {now.trace_id}).")
            left, right = st.columns(2)
            left.page_link(
                "pages/product.py",
                label="Open the product",
                icon=":material/deployed_code:",
                query_params={"product": job.product, "tenant": job.tenant},
            )
            if now.trace_id:
                right.page_link(
                    "pages/trace.py",
                    label="Open its trace",
                    icon=":material/timeline:",
                    query_params={"trace": now.trace_id, "tenant": job.tenant},
                )
        else:
            st.button("Refresh", icon=":material/refresh:")
        if now.run_id:
            st.markdown(f"Dagster run: [{now.run_id[:8]}]({state.dagster_url()}/runs/{now.run_id})")
        with st.expander("Build log"):
            st.code(now.log_tail or "(nothing logged yet)", language=None)

    live()


def recent() -> None:
    tenant = state.tenant()
    intents = state.control().intents(tenant)[:10]
    if intents:
        st.subheader("Recent intents")
        rows = [
            {
                "product": f"{i.tenant}/{i.product}",
                "revision": i.revision,
                "status": i.status,
                "submitted": i.submitted_at,
                "by": i.actor,
                "intent": i.text[:120],
            }
            for i in intents
        ]
        st.dataframe(rows, hide_index=True)


st.title("New product")
st.caption(
    "Describe the service (or upload a blueprint), settle what the analyst is unsure about, preview what the "
    "agents propose, edit it as YAML or as a table, and build it."
)
tenant, product, intent = _inputs()
st.file_uploader("…or upload a blueprint YAML", type=["yaml", "yml"], key="np_upload")
with state.guard("Reading the uploaded blueprint"):
    upload(tenant, intent)
propose_col, build_col, reset_col = st.columns([1, 1, 4])
if propose_col.button("Propose blueprint", icon=":material/design_services:"):
    with state.guard("Proposing a blueprint"):
        propose(tenant, product, intent)
clicked_build = build_col.button("Build", type="primary", icon=":material/rocket_launch:")
if "np_proposal" in st.session_state and reset_col.button("Discard the blueprint"):
    for key in ("np_proposal", "np_notes", "np_yaml"):
        st.session_state.pop(key, None)
with state.guard("Settling the open questions"):
    questions(tenant, product, intent)
blueprint = None
with state.guard("Drawing the blueprint"):
    blueprint = preview()
if clicked_build:
    with state.guard("Starting the build"):
        submit(tenant, product, intent, blueprint)
with state.guard("Following the build"):
    follow()
with state.guard("Reading recent intents"):
    recent()
