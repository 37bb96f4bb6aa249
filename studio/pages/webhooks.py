"""Webhooks: the tenant's endpoints with their state, add one (its secret shown once), rotate, enable, delete,
each endpoint's delivery attempts, and the dead letters with a replay button (the work is in infra.webhooks)."""

from __future__ import annotations

import streamlit as st

from infra import webhooks
from infra.access import Resource
from infra.events import EVENT_TYPE_PREFIX, EVENT_TYPES
from studio import state

_NOTICE = "_webhooks_notice"


def _allowed(tenant: str) -> None:
    state.allow("webhooks", Resource.scope(tenant))


def _done(message: str, secret: str | None = None) -> None:
    """Say what was done (and show a new secret, this once) on the next run, which lists the change."""
    st.session_state[_NOTICE] = (message, secret)
    st.rerun()


def notice() -> None:
    done = st.session_state.pop(_NOTICE, None)
    if done:
        message, secret = done
        st.success(message)
        if secret:
            st.code(secret, language="text")


def endpoints(tenant: str) -> list[webhooks.WebhookView]:
    views = webhooks.list_webhooks(state.control(), tenant)
    if not views:
        st.caption("No endpoints yet: add one below.")
        return views
    rows = [
        {
            "id": v.id,
            "url": v.url,
            "types": ", ".join(t.removeprefix(EVENT_TYPE_PREFIX) for t in v.event_types) or "all",
            "state": "enabled" if v.enabled else f"disabled: {v.disabled_reason}",
            "previous secret signs until": v.rotating_until,
            "description": v.description,
            "created": f"{v.created_at:%Y-%m-%d %H:%M} by {v.created_by}",
        }
        for v in views
    ]
    st.dataframe(rows, hide_index=True)
    return views


def add(tenant: str) -> None:
    with st.form("add_webhook", clear_on_submit=True):
        st.markdown("**Add an endpoint** (http(s); its secret is shown once)")
        url = st.text_input("URL", key="webhook_url", placeholder="https://hooks.example.com/factory")
        kinds = st.multiselect("Event types (none: all)", list(EVENT_TYPES), key="webhook_types")
        description = st.text_input("Description", key="webhook_description")
        if st.form_submit_button("Add", type="primary"):
            with state.guard("Adding the endpoint"):
                _allowed(tenant)
                view, secret = webhooks.add_webhook(
                    state.control(), tenant, url, kinds, actor=state.actor(), description=description
                )
                _done(f"Endpoint {view.id} added for {view.url}. Its signing secret, shown this once:", secret)


def manage(tenant: str, views: list[webhooks.WebhookView]) -> None:
    if not views:
        return
    ids = [v.id for v in views]
    chosen = st.selectbox("Endpoint", ids, format_func=lambda i: f"{i}: {views[ids.index(i)].url}", key="endpoint")
    endpoint = int(chosen if chosen is not None else ids[0])
    rotate, enable, delete = st.columns(3)
    if rotate.button("Rotate the secret", key="webhook_rotate"):
        with state.guard("Rotating the secret"):
            _allowed(tenant)
            view, secret = webhooks.rotate_secret(state.control(), tenant, endpoint, actor=state.actor())
            _done(f"Endpoint {view.id}: new secret, shown this once (the previous one signs too for 24 h):", secret)
    if enable.button("Enable", key="webhook_enable"):
        with state.guard("Enabling the endpoint"):
            _allowed(tenant)
            webhooks.enable_webhook(state.control(), tenant, endpoint, actor=state.actor())
            _done(f"Endpoint {endpoint} enabled.")
    sure = delete.checkbox("Really delete", key="webhook_delete_sure")
    if delete.button("Delete", key="webhook_delete", disabled=not sure):
        with state.guard("Deleting the endpoint"):
            _allowed(tenant)
            view = webhooks.remove_webhook(state.control(), tenant, endpoint, actor=state.actor())
            _done(f"Endpoint {view.id} deleted ({view.url}).")
    with state.guard("Reading the attempts"):
        attempts = webhooks.webhook_attempts(state.control(), tenant, endpoint, limit=200)
        st.markdown(f"**Delivery attempts of endpoint {endpoint}** (newest first)")
        if attempts:
            rows = [{"at": a.at, "delivery": a.delivery_id, "event": a.event_seq, "status": a.status_code,
                     "error": a.error, "ms": round(a.duration_ms, 1)} for a in attempts]  # fmt: skip
            st.dataframe(rows, hide_index=True)
        else:
            st.caption("No attempts yet.")


def dead(tenant: str) -> None:
    st.subheader("Dead letters")
    letters = webhooks.dead_letters(state.control(), tenant)
    if not letters:
        st.caption("None: every delivery went through or is still being retried.")
        return
    rows = [{"delivery": d.id, "endpoint": d.endpoint_id, "event": d.event_seq, "attempts": d.attempts,
             "last status": d.last_status, "last error": d.last_error} for d in letters]  # fmt: skip
    st.dataframe(rows, hide_index=True)
    ids = [d.id for d in letters if d.id is not None]
    picked = st.multiselect("Deliveries to send again (none: all)", ids, key="replay_ids")
    if st.button("Replay", key="webhook_replay"):
        with state.guard("Replaying"):
            _allowed(tenant)
            replayed = webhooks.replay(state.control(), tenant, actor=state.actor(), delivery_ids=picked or ids)
            _done(f"{len(replayed)} deliveries set to go out again.")


st.title("Webhooks")
chosen_tenant = state.tenant()
if chosen_tenant is None:
    st.info("Webhook endpoints belong to a tenant: choose one in the sidebar.")
    st.stop()
assert chosen_tenant is not None
st.caption(
    f"Endpoints that receive the signed events of {state.tenant_label()} (Standard Webhooks; see docs/events.md)."
)
notice()
with state.guard("Webhooks"):
    _allowed(chosen_tenant)
    found = endpoints(chosen_tenant)
    add(chosen_tenant)
    manage(chosen_tenant, found)
    dead(chosen_tenant)
