"""Governance: pending approvals (approve or reject with a reason), promotions, policy findings, the access
policy in force, and the audit log with the verification of its hash chain."""

from __future__ import annotations

import streamlit as st

from infra.access import Resource, approvals_of, decide, policy_text, revision_authors
from infra.insights import load_insights
from infra.lifecycle import use_cases
from infra.workspace import ProductWorkspace
from ontology.errors import InvalidInputError
from ontology.refs import ProductRef
from studio import state, views


def approvals() -> None:
    control, tenant = state.control(), state.tenant()
    products = control.products(tenant)
    found = views.promotions(control, state.home(), products)
    pending = [p for p in found if p.pending]
    who = state.principal()
    approver = who is not None and decide(who, "approve", Resource.scope(tenant), state.home()).allowed
    if not approver:
        st.caption("Pending approvals and decisions are shown to the tenant's approvers.")
    elif pending:
        st.subheader(f"Pending approvals ({len(pending)})")
        st.dataframe([p.row() for p in pending], hide_index=True)
    else:
        st.subheader("Pending approvals (0)")
        st.caption("Nothing waits for a decision: prod needs one when staging holds a commit prod does not.")
    if not found:
        st.info(f"No released products for {state.tenant_label()}.")
        return
    with st.expander("Every released product's environments"):
        st.dataframe([p.row() for p in found], hide_index=True)
    names = [p.product for p in found]
    owner = {p.product: p.tenant for p in products}
    if approver:
        with st.form("decide"):
            st.markdown("**Decide on promoting to prod** (the commit now on staging)")
            left, right = st.columns([1, 1])
            product = left.selectbox("Product", names, index=names.index(pending[0].product) if pending else 0)
            decision = right.radio("Decision", ["approved", "rejected"], horizontal=True)
            reason = st.text_input("Reason (recorded in the audit log)", key="decide_reason")
            if st.form_submit_button("Record the decision", type="primary"):
                with state.guard("Recording the decision"):
                    if not reason.strip():
                        raise InvalidInputError("give a reason: it is recorded in the audit log with the decision")
                    ref = ProductRef(owner[str(product)], str(product))
                    approved = decision == "approved"
                    authors = revision_authors(control, state.home(), ref, "prod")
                    state.allow("approve" if approved else "reject", Resource.of(ref, env="prod", authors=authors))
                    record = use_cases.approve(
                        control, state.home(), ref, "prod", approved=approved, reason=reason, actor=state.actor(),
                        graph=state.knowledge_graph,
                    )  # fmt: skip
                    st.success(f"{record.decision} {product} at {record.commit[:12]} for prod.")
    with st.form("promote"):
        st.markdown("**Promote** (dev → staging, or staging → prod once approved)")
        left, right = st.columns([1, 1])
        product = left.selectbox("Product", names, key="promote_product")
        env = right.radio("To", ["staging", "prod"], horizontal=True)
        if st.form_submit_button("Promote"):
            with state.guard("Promoting"):
                ref = ProductRef(owner[str(product)], str(product))
                approved_by = approvals_of(control, state.home(), ref, str(env))
                state.allow("promote", Resource.of(ref, env=str(env), approvals=approved_by))
                d = use_cases.promote(
                    control, state.home(), ref, str(env), actor=state.actor(), graph=state.knowledge_graph
                )
                st.success(f"Promoted {product} to {env} at {(d.commit or '')[:12]}: running at {d.url}.")


def findings() -> None:
    tenant = state.tenant()
    st.subheader("Policy findings")
    rows = []
    for p in state.control().products(tenant):
        out = ProductWorkspace(state.home(), p.tenant, p.product).load_output("blueprint")
        for check, issues in ((out or {}).get("checks") or {}).items():
            rows += [{"product": f"{p.tenant}/{p.product}", "check": check, "finding": i} for i in issues]
    prefix = "" if tenant is None else f"{tenant}/"
    rows += [
        {"product": f.split(" ", 1)[0], "check": "build outcomes", "finding": f}
        for f in load_insights(state.home()).findings
        if f.startswith(prefix)
    ]
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.success("No policy findings.")


def policy() -> None:
    with st.expander("The access policy in force (Cedar)"):
        st.code(policy_text(state.home(), state.tenant()), language="text")


def audit() -> None:
    st.subheader("Audit log")
    verdict = state.control().verify_audit()
    if verdict.ok:
        st.success(f"The audit chain holds: {verdict.entries} entries, head {verdict.head or '-'}.")
    else:
        st.error(f"The audit chain is broken: {verdict.problem}.")
    events = state.control().audit_log(state.tenant(), limit=500)
    if events:
        st.dataframe(views.audit_rows(events), hide_index=True)
    else:
        st.caption("No events yet.")


st.title("Governance")
st.caption(f"Approvals, promotions, policy findings and the audit log of {state.tenant_label()}.")
with state.guard("Reading the approvals"):
    approvals()
with state.guard("Reading the policy findings"):
    findings()
with state.guard("Reading the policy"):
    policy()
with state.guard("Reading the audit log"):
    audit()
