"""Blueprints written by hand for the template tests: an invoicing service, a clinic with a
many-to-many, and one made of hostile names and template syntax."""

from __future__ import annotations

from typing import Any

from ontology.models import Blueprint

INJECTION = "{{ 7*7 }} {% for x in range(9) %}x{% endfor %} __import__('os') \"quoted\" 'single'\nnew line"


def _attrs(*specs: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": name, "type": kind, **extra} for name, kind, extra in specs]


def invoicing(**features: bool) -> Blueprint:
    """Customers, invoices, line items and payments: enum, money, decimal, date, datetime, email, url, uuid."""
    return Blueprint.model_validate(
        {
            "name": "Acme Invoicing",
            "slug": "invoicing",
            "tenant": "acme",
            "description": "Customers receive invoices with line items and pay them by card.",
            "entities": [
                {
                    "name": "customer",
                    "label": "Customer",
                    "attributes": _attrs(
                        ("name", "string", {"required": True, "pii": True}),
                        ("email", "email", {"unique": True, "pii": True}),
                        ("website", "url", {}),
                        ("active", "bool", {"default": True}),
                    ),
                },
                {
                    "name": "invoice",
                    "label": "Invoice",
                    "attributes": _attrs(
                        ("number", "string", {"required": True, "unique": True}),
                        ("status", "enum", {"enum_values": ["draft", "sent", "paid"], "default": "draft"}),
                        ("total", "money", {"default": 0}),
                        ("due_date", "date", {}),
                        ("notes", "text", {}),
                    ),
                },
                {
                    "name": "line_item",
                    "label": "Line item",
                    "attributes": _attrs(
                        ("description", "string", {"required": True}),
                        ("quantity", "int", {"required": True, "default": 1}),
                        ("unit_price", "money", {"required": True}),
                        ("tax_rate", "decimal", {}),
                    ),
                },
                {
                    "name": "payment",
                    "label": "Payment",
                    "attributes": _attrs(
                        ("amount", "money", {"required": True}),
                        ("paid_at", "datetime", {}),
                        ("reference", "uuid", {"unique": True}),
                        ("method", "enum", {"enum_values": ["card", "transfer"], "required": True}),
                    ),
                },
            ],
            "relationships": [
                {
                    "source": "customer",
                    "target": "invoice",
                    "cardinality": "one-to-many",
                    "source_role": "invoices",
                    "target_role": "customer",
                },
                {
                    "source": "invoice",
                    "target": "line_item",
                    "cardinality": "one-to-many",
                    "source_role": "line_items",
                    "target_role": "invoice",
                },
                {
                    "source": "payment",
                    "target": "invoice",
                    "cardinality": "many-to-one",
                    "source_role": "invoice",
                    "target_role": "payments",
                },
            ],
            "features": features,
        }
    )


def clinic(**features: bool) -> Blueprint:
    """Patients, doctors and appointments, with doctors and patients linked many-to-many."""
    return Blueprint.model_validate(
        {
            "name": "Clinic Booking",
            "slug": "clinic",
            "tenant": "health-co",
            "entities": [
                {
                    "name": "patient",
                    "attributes": _attrs(
                        ("full_name", "string", {"required": True, "pii": True}),
                        ("email", "email", {"pii": True}),
                        ("born_on", "date", {}),
                    ),
                },
                {
                    "name": "doctor",
                    "attributes": _attrs(
                        ("name", "string", {"required": True}),
                        ("specialty", "enum", {"enum_values": ["general", "cardiology", "dermatology"]}),
                        ("licence", "uuid", {"unique": True}),
                    ),
                },
                {
                    "name": "appointment",
                    "attributes": _attrs(
                        ("starts_at", "datetime", {"required": True}),
                        ("minutes", "int", {"default": 30}),
                        ("confirmed", "bool", {"default": False}),
                        ("notes", "text", {}),
                    ),
                },
            ],
            "relationships": [
                {
                    "source": "patient",
                    "target": "appointment",
                    "cardinality": "one-to-many",
                    "source_role": "appointments",
                    "target_role": "patient",
                },
                {
                    "source": "doctor",
                    "target": "appointment",
                    "cardinality": "one-to-many",
                    "source_role": "appointments",
                    "target_role": "doctor",
                },
                {
                    "source": "doctor",
                    "target": "patient",
                    "cardinality": "many-to-many",
                    "source_role": "patients",
                    "target_role": "doctors",
                },
            ],
            "features": features,
        }
    )


def hostile(**features: bool) -> Blueprint:
    """Python keywords, SQL reserved words, framework names, unicode, leading digits, clashing
    class, table, route and column names, self-references, and template syntax in every text."""
    return Blueprint.model_validate(
        {
            "name": f"Hostile {INJECTION}",
            "slug": "hostile",
            "tenant": "evil",
            "description": f"Description {INJECTION} ''' \"\"\" \\ back\r\n</script> | pipe # hash",
            "entities": [
                {
                    "name": "class",
                    "label": f"Class {INJECTION}",
                    "description": INJECTION,
                    "attributes": _attrs(
                        ("from", "string", {"required": True, "label": INJECTION}),
                        ("import", "int", {}),
                        ("str", "string", {}),
                        ("int", "int", {}),
                        ("Field", "string", {}),
                        ("date", "date", {}),
                        ("type", "enum", {"enum_values": ["a", "b"], "default": "a"}),
                        ("q", "string", {"default": INJECTION}),
                        ("limit", "int", {}),
                        ("None", "string", {}),
                    ),
                },
                {
                    "name": "order",
                    "attributes": _attrs(
                        ("select", "string", {"unique": True}),
                        ("group", "money", {}),
                        ("user", "email", {"unique": True}),
                    ),
                },
                {"name": "Session", "attributes": _attrs(("Query", "string", {}), ("customer_id", "uuid", {}))},
                {"name": "Query", "attributes": _attrs(("text", "text", {}), ("flag", "bool", {"unique": True}))},
                {
                    "name": "Ünïcode Straße",
                    "label": "Ünïcode Straße",
                    "attributes": _attrs(("größe", "decimal", {}), ("日本", "string", {})),
                },
                {
                    "name": "1st place",
                    "attributes": _attrs(
                        ("2nd", "string", {}),
                    ),
                },
                {
                    "name": "text",
                    "attributes": _attrs(
                        ("value", "string", {}),
                    ),
                },
                {
                    "name": "a1",
                    "attributes": _attrs(
                        ("x", "string", {}),
                    ),
                },
                {
                    "name": "a_1",
                    "attributes": _attrs(
                        ("x", "string", {}),
                    ),
                },
                {
                    "name": "bus",
                    "attributes": _attrs(
                        ("x", "string", {}),
                    ),
                },
                {
                    "name": "buse",
                    "attributes": _attrs(
                        ("x", "string", {}),
                    ),
                },
                {
                    "name": "doc",
                    "attributes": _attrs(
                        ("x", "string", {}),
                    ),
                },
                {
                    "name": "employee",
                    "attributes": _attrs(
                        ("kind", "enum", {"enum_values": ["only"], "unique": True, "label": INJECTION}),
                    ),
                },
            ],
            "relationships": [
                {
                    "source": "session",
                    "target": "order",
                    "cardinality": "one-to-many",
                    "source_role": "orders",
                    "target_role": "customer",
                },
                {
                    "source": "order",
                    "target": "query",
                    "cardinality": "many-to-one",
                    "source_role": "tenant",
                    "target_role": "orders",
                },
                {
                    "source": "employee",
                    "target": "employee",
                    "cardinality": "one-to-many",
                    "source_role": "reports",
                    "target_role": "manager",
                },
                {
                    "source": "employee",
                    "target": "employee",
                    "cardinality": "many-to-many",
                    "source_role": "peers",
                    "target_role": "peer_of",
                },
                {
                    "source": "class_item",
                    "target": "order",
                    "cardinality": "many-to-many",
                    "source_role": "orders",
                    "target_role": "classes",
                },
            ],
            "features": features,
        }
    )


def warehouse(**features: bool) -> Blueprint:
    """Warehouses hold bins, bins hold stock of items, counts are recorded at a time: money,
    decimal, datetime, enum, int and nested one-to-many and many-to-many relationships."""
    return Blueprint.model_validate(
        {
            "name": "Acme Warehouse",
            "slug": "warehouse",
            "tenant": "acme",
            "description": "Warehouses hold bins where items are stocked and counted.",
            "entities": [
                {
                    "name": "warehouse",
                    "attributes": _attrs(
                        ("code", "string", {"required": True, "unique": True}),
                        ("city", "string", {}),
                        ("opened_on", "date", {}),
                    ),
                },
                {
                    "name": "bin",
                    "attributes": _attrs(
                        ("label", "string", {"required": True}),
                        ("zone", "enum", {"enum_values": ["cold", "dry", "hazmat"], "default": "dry"}),
                        ("capacity", "decimal", {}),
                        ("last_counted_at", "datetime", {}),
                    ),
                },
                {
                    "name": "item",
                    "attributes": _attrs(
                        ("sku", "string", {"required": True, "unique": True}),
                        ("unit_cost", "money", {"required": True}),
                        ("weight_kg", "decimal", {}),
                        ("active", "bool", {"default": True}),
                        ("barcode", "uuid", {"unique": True}),
                    ),
                },
                {
                    "name": "stock_count",
                    "attributes": _attrs(
                        ("quantity", "int", {"required": True}),
                        ("value", "money", {"default": 0}),
                        ("counted_at", "datetime", {"required": True}),
                        ("notes", "text", {}),
                    ),
                },
                {
                    "name": "supplier",
                    "attributes": _attrs(
                        ("name", "string", {"required": True}),
                        ("email", "email", {"unique": True}),
                        ("website", "url", {}),
                    ),
                },
            ],
            "relationships": [
                {
                    "source": "warehouse",
                    "target": "bin",
                    "cardinality": "one-to-many",
                    "source_role": "bins",
                    "target_role": "warehouse",
                },
                {
                    "source": "bin",
                    "target": "stock_count",
                    "cardinality": "one-to-many",
                    "source_role": "counts",
                    "target_role": "bin",
                },
                {
                    "source": "stock_count",
                    "target": "item",
                    "cardinality": "many-to-one",
                    "source_role": "item",
                    "target_role": "counts",
                },
                {
                    "source": "supplier",
                    "target": "item",
                    "cardinality": "many-to-many",
                    "source_role": "items",
                    "target_role": "suppliers",
                },
            ],
            "features": features,
        }
    )
