"""Product: its blueprint, files, validation, releases, deployment, telemetry, approvals, upgrades and its
client SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from generators.blueprint import parse_blueprint
from graph.catalog import pack_upgrades
from graph.findings import findings_for
from infra import runtime
from infra.access import Resource
from infra.gitops import ProductRepository
from infra.lifecycle import use_cases
from infra.product_sdk import product_sdk
from infra.records import ProductRecord
from infra.workspace import ProductWorkspace
from ontology.refs import ProductRef
from studio import diagrams, jobs, state, views


def choose() -> ProductRecord | None:
    products = state.control().products(state.tenant())
    if not products:
        st.info(f"No products for {state.tenant_label()} yet: describe one on the New product page.")
        return None
    names = [f"{p.tenant}/{p.product}" for p in products]
    wanted = st.query_params.get("product")
    if wanted and st.session_state.get("_product_from_url") != wanted:
        st.session_state["_product_from_url"] = wanted
        match = [n for n in names if n.split("/", 1)[1] == wanted]
        if match:
            st.session_state["product_choice"] = match[0]
        else:
            st.error(f"{state.tenant_label().capitalize()} has no product {wanted[:80]!r}.")
    if st.session_state.get("product_choice") not in names:
        st.session_state["product_choice"] = names[0]
    chosen = st.selectbox("Product", names, key="product_choice")
    return products[names.index(str(chosen))]


def header(p: ProductRecord) -> None:
    cols = st.columns(4)
    cols[0].metric("Revision", p.revision)
    cols[1].metric("Status", p.status)
    cols[2].metric("Stages done", f"{views.stage_progress(p.stage_map()).done}/{views.stage_progress({}).total}")
    cols[3].metric("Updated", p.updated_at.strftime("%Y-%m-%d %H:%M"))
    if p.trace_id:
        st.page_link(
            "pages/trace.py",
            label=f"Trace {p.trace_id}",
            icon=":material/timeline:",
            query_params={"trace": p.trace_id, "tenant": p.tenant},
        )
    if st.button("Rebuild", key="rebuild", help="Build the latest intent again: unchanged stages are reused."):
        with state.guard("Starting the rebuild"):
            state.allow("rebuild", Resource.of(ProductRef(p.tenant, p.product)))
            job = jobs.start_rebuild(
                state.control(), state.home(), ProductRef(p.tenant, p.product), actor=state.actor()
            )
            st.success(f"Rebuilding {job.tenant}/{job.product} (revision {job.revision}): the status above follows it.")


def blueprint_tab(ws: ProductWorkspace) -> None:
    out = ws.load_output("blueprint")
    if out is None:
        st.info("No blueprint yet: the build has not reached the blueprint stage.")
        return
    bp = parse_blueprint(out["blueprint"])
    st.graphviz_chart(diagrams.blueprint_dot(bp), width="stretch")
    checks = out.get("checks", {})
    for name, issues in checks.items():
        (st.warning if issues else st.success)(f"{name}: {'; '.join(issues) if issues else 'no findings'}")
    with st.expander("Blueprint YAML"):
        st.code(ws.blueprint_path.read_text() if ws.blueprint_path.exists() else "", language="yaml")
    with st.expander("What the agents noted"):
        for note in out.get("notes", []):
            st.markdown(f"- {note}")


def files_tab(ws: ProductWorkspace) -> None:
    out = ws.load_output("artifacts")
    if out is None:
        st.info("No files yet: the build has not rendered the product.")
        return
    listing: list[str] = out["files"]
    st.caption(f"{len(listing)} files, {out['bytes']:,} bytes, rendered with {out['template']}")
    tree, viewer = st.columns([1, 2])
    tree.code(views.file_tree(listing), language=None)
    path = viewer.selectbox("File", listing, index=listing.index("README.md") if "README.md" in listing else 0)
    with state.guard("Reading the file"):
        shown = views.read_product_file(ws, listing, str(path))
        viewer.code(shown.text, language=shown.language, line_numbers=True)


def validation_tab(ws: ProductWorkspace) -> None:
    out = ws.load_output("validation")
    if out is None:
        st.info("No validation report yet.")
        return
    cols = st.columns(5)
    for col, key in zip(cols, ("passed", "failed", "errors", "skipped", "duration_s"), strict=True):
        col.metric(key.replace("_s", " (s)"), out.get(key, 0))
    (st.success if out.get("ok") else st.error)("Validation " + ("passed" if out.get("ok") else "failed"))
    st.dataframe(
        [
            {"check": k, "findings": len(v), "details": "; ".join(map(str, v))[:500]}
            for k, v in out.get("checks", {}).items()
        ],
        hide_index=True,
    )
    if out.get("lint"):
        st.dataframe([{"finding": str(x)} for x in out["lint"]], hide_index=True)
    contract = views.contract_view(ws)
    st.subheader("Contract under fuzzing")
    if not contract.runs:
        st.info("No contract run yet: the validation runs a shallow one, the contract stage a deep one.")
        return
    st.dataframe(contract.runs, hide_index=True)
    if contract.failures:
        st.caption("Each failure with the request that reproduces it")
        st.dataframe(contract.failures, hide_index=True)


def releases_tab(p: ProductRecord) -> None:
    if not p.repo_path or not (Path(p.repo_path) / ".git").exists():
        st.info("Not released yet.")
        return
    repo = ProductRepository(state.home(), p.tenant, p.product)
    history = repo.history()
    rows = [
        {
            "commit": c.short,
            "tags": ", ".join(c.tags),
            "summary": c.summary,
            "date": c.date,
            "trace": c.trailers.get("Factory-Trace-Id", ""),
            "author": c.author,
        }
        for c in history
    ]
    st.dataframe(rows, hide_index=True)
    envs = {env: repo.env_head(env) for env in ("dev", "staging", "prod")}
    st.caption(" · ".join(f"env/{env}: `{(sha or '—')[:12]}`" for env, sha in envs.items()))
    if len(history) < 2:
        return
    labels = [f"{c.short} {', '.join(c.tags)} {c.summary[:50]}" for c in history]
    left, right = st.columns(2)
    old = left.selectbox("From", labels, index=1, key="diff_old")
    new = right.selectbox("To", labels, index=0, key="diff_new")
    diff = repo.diff(history[labels.index(str(old))].commit, history[labels.index(str(new))].commit)
    st.code(diff[:200_000] or "(no changes)", language="diff")


def deployment_tab(p: ProductRecord) -> None:
    deployments = [d for d in state.control().deployments(p.tenant) if d.product == p.product]
    if not deployments:
        st.info("Not deployed yet.")
        return
    rows: list[dict[str, Any]] = []
    for d in deployments:
        healthy = d.status == "running" and bool(d.url) and runtime.healthy(d.url or "", timeout_s=1.0)
        rows.append(
            {
                "env": d.env,
                "url": d.url,
                "status": d.status,
                "health": "healthy" if healthy else "—",
                "pid": d.pid,
                "revision": d.revision,
                "commit": (d.commit or "")[:12],
                "since": d.started_at,
            }
        )
    st.dataframe(rows, hide_index=True, column_config={"url": st.column_config.LinkColumn("url")})
    history = [
        {"env": r.env, "commit": r.commit[:12], "revision": r.revision, "status": r.status, "since": r.deployed_at}
        for d in deployments
        for r in state.control().releases(p.tenant, p.product, d.env)
    ]
    if history:
        st.caption("Releases each environment ran, newest first (`factory rollback` returns to the one before)")
        st.dataframe(history, hide_index=True)
    running = [d for d in deployments if d.status == "running"]
    if running and st.button("Stop the service", key="stop_service"):
        with state.guard("Stopping the service"):
            ref = ProductRef(p.tenant, p.product)
            state.allow("stop", Resource.of(ref))
            for d in running:
                use_cases.stop(state.control(), ref, env=d.env, actor=state.actor())
            st.success(f"Stopped {ref}.")


def telemetry_tab(ws: ProductWorkspace) -> None:
    out = ws.load_output("telemetry")
    rows = views.telemetry_rows(out)
    if out is None or not rows:
        st.info("No telemetry yet.")
        return
    overall = out.get("overall", {})
    cols = st.columns(4)
    cols[0].metric("Requests", out.get("requests", 0))
    cols[1].metric("p50", f"{overall.get('p50_ms', 0):.1f} ms")
    cols[2].metric("p95", f"{overall.get('p95_ms', 0):.1f} ms")
    cols[3].metric("Errors", f"{overall.get('error_rate', 0):.2%}")
    for breach in out.get("breaches", []):
        st.warning(f"SLO breach: {breach}")
    left, right = st.columns(2)
    left.caption("Latency per route (ms)")
    left.bar_chart(rows, x="route", y=["p50 ms", "p95 ms"], stack=False, horizontal=True)
    right.caption("Error rates per route")
    right.bar_chart(rows, x="route", y=["error rate", "client error rate"], stack=False, horizontal=True)
    st.dataframe(rows, hide_index=True)


def findings_tab(p: ProductRecord) -> None:
    found = findings_for(state.knowledge_graph(), p.tenant, p.product, limit=100)
    if not found:
        st.info("No findings yet: the telemetry schedule observes running deployments every five minutes.")
        return
    for f in found:
        if f.kind == "slo_breach":
            st.warning(f"SLO breach: {f.summary}")
    st.dataframe(
        [
            {
                "window": f"{f.window_start:%Y-%m-%d %H:%M}",
                "revision": f.revision,
                "kind": f.kind,
                "route": f.route or "",
                "entity": f.entity or "",
                "attribute": f.attribute or "",
                "value": f.value,
                "bound": f.threshold,
                "requests": f.requests,
                "finding": f.summary,
                "id": f.id,
            }
            for f in found
        ],
        hide_index=True,
    )
    st.page_link("pages/insights.py", label="What many products showed: Insights", icon=":material/insights:")


def approvals_tab(p: ProductRecord) -> None:
    decisions = [a for a in state.control().approvals(p.tenant) if a.product == p.product]
    if not decisions:
        st.info("No decisions yet.")
    else:
        st.dataframe(
            [
                {
                    "env": a.env,
                    "commit": a.commit[:12],
                    "decision": a.decision,
                    "reason": a.reason,
                    "by": a.actor,
                    "at": a.at,
                }
                for a in decisions
            ],
            hide_index=True,
        )
    st.page_link("pages/governance.py", label="Approve or promote on the Governance page", icon=":material/gavel:")


def upgrades_tab(p: ProductRecord) -> None:
    done = pack_upgrades(state.knowledge_graph(), p.tenant, p.product)
    if not done:
        st.info("No upgrade yet: `factory upgrade` (or the Marketplace) moves a product to another pack version.")
    else:
        st.caption("Each upgrade to another pack version, oldest first, as the knowledge graph records it")
        st.dataframe([u.row() for u in done], hide_index=True)
        last = done[-1]
        if last.status != "upgraded":
            st.warning(f"The last upgrade to {last.pack} {last.to_version} is not merged ({last.status}): settle "
                       f"{last.branch or 'its branch'}, commit, and run the upgrade again.")  # fmt: skip
    st.page_link("pages/marketplace.py", label="Pack versions and upgrades: Marketplace", icon=":material/storefront:")


def sdk_tab(p: ProductRecord) -> None:
    if not p.repo_path or not (Path(p.repo_path) / ".git").exists():
        st.info("Not released yet: the client SDK is rendered from a release's OpenAPI document.")
        return
    ref = ProductRef(p.tenant, p.product)
    key = f"_sdk_{p.tenant}_{p.product}"
    st.caption(
        "A typed Python client of this product (`python-sdk` pack): one method per operation of the OpenAPI "
        "document of its last release, TypedDicts of its schemas, errors by status, its own tests."
    )
    if st.button("Generate the client SDK", key="sdk_generate"):
        with state.guard("Generating the client SDK"):
            state.allow("read", Resource.of(ref))
            st.session_state[key] = product_sdk(state.home(), ref)
    made = st.session_state.get(key)
    if made is None:
        return
    bundle = made.bundle
    st.success(f"{bundle.package}: {len(bundle.files)} files, {len(bundle.method_rows())} typed methods, from "
               f"the release generated at {made.commit[:12]} with {made.template}")  # fmt: skip
    st.download_button(
        f"Download {bundle.archive_name}", bundle.archive, file_name=bundle.archive_name, mime="application/zip",
        key="sdk_download",
    )  # fmt: skip
    st.dataframe(bundle.method_rows(), hide_index=True)
    st.markdown(bundle.files["README.md"])
    with st.expander(f"{bundle.package}/client.py"):
        st.code(bundle.files[f"{bundle.package}/client.py"], language="python")


st.title("Product")
product = None
with state.guard("Reading the products"):
    product = choose()
if product is not None:
    header(product)
    workspace = ProductWorkspace(state.home(), product.tenant, product.product)
    names = ["blueprint", "files", "validation", "releases", "deployment", "telemetry", "findings", "approvals",
             "upgrades", "client SDK"]  # fmt: skip
    tabs = st.tabs([name[0].upper() + name[1:] for name in names])
    sections = [
        lambda: blueprint_tab(workspace),
        lambda: files_tab(workspace),
        lambda: validation_tab(workspace),
        lambda: releases_tab(product),
        lambda: deployment_tab(product),
        lambda: telemetry_tab(workspace),
        lambda: findings_tab(product),
        lambda: approvals_tab(product),
        lambda: upgrades_tab(product),
        lambda: sdk_tab(product),
    ]
    for tab, name, section in zip(tabs, names, sections, strict=True):
        with tab, state.guard(f"Showing the {name}"):
            section()
