"""The data of every benchmark: order-like JSON objects of about 170 bytes with nested fields, their Connect
schema and Structs, and the bytes a producer of each kind writes for them."""

from __future__ import annotations

from typing import Any


def order_values(n: int) -> list[dict[str, Any]]:
    """``n`` order-like JSON objects of about 170 bytes each, with nested fields."""
    return [
        {
            "id": 1_000_000 + i,
            "customer": {"name": f"Cust {i % 997:04d}", "email": f"c{i % 997}@ex.com", "tier": "gold"},
            "items": [{"sku": f"A-{i % 13}", "qty": 1 + i % 3}, {"sku": "B-7", "qty": 1}],
            "total": round(10 + (i % 1000) * 0.37, 2),
            "paid": i % 2 == 0,
            "ts": 1_700_000_000_000 + i,
        }
        for i in range(n)
    ]


_ORDER_SCHEMA: Any = None


def order_schema() -> Any:
    """The Connect schema of the order values (one object, as a connector defines it once)."""
    global _ORDER_SCHEMA
    if _ORDER_SCHEMA is None:
        _ORDER_SCHEMA = _build_order_schema()
    return _ORDER_SCHEMA


def _build_order_schema() -> Any:
    from kcfast.data import Schema, SchemaBuilder

    customer = (
        SchemaBuilder.struct().name("Customer")
        .field("name", Schema.STRING_SCHEMA).field("email", Schema.OPTIONAL_STRING_SCHEMA)
        .field("tier", Schema.STRING_SCHEMA).build()
    )
    item = SchemaBuilder.struct().name("Item").field("sku", Schema.STRING_SCHEMA).field("qty", Schema.INT32_SCHEMA).build()
    return (
        SchemaBuilder.struct().name("Order")
        .field("id", Schema.INT64_SCHEMA).field("customer", customer)
        .field("items", SchemaBuilder.array(item).build()).field("total", Schema.FLOAT64_SCHEMA)
        .field("paid", Schema.BOOLEAN_SCHEMA).field("ts", Schema.INT64_SCHEMA).build()
    )


def order_structs(n: int) -> list[Any]:
    from kcfast.data import Struct

    schema = order_schema()
    customer_schema = schema.field("customer").schema
    item_schema = schema.field("items").schema.value_schema
    out = []
    for v in order_values(n):
        c = v["customer"]
        out.append(
            Struct(schema).put("id", v["id"])
            .put("customer", Struct(customer_schema).put("name", c["name"]).put("email", c["email"]).put("tier", c["tier"]))
            .put("items", [Struct(item_schema).put("sku", it["sku"]).put("qty", it["qty"]) for it in v["items"]])
            .put("total", v["total"]).put("paid", v["paid"]).put("ts", v["ts"])
        )
    return out


def json_values(n: int) -> list[bytes]:
    """``n`` order values as schemaless JSON (``orjson.dumps``), about 170 bytes each."""
    import orjson

    return [orjson.dumps(v) for v in order_values(n)]


def envelope_values(n: int) -> list[bytes]:
    """``n`` order values as JsonConverter writes them with ``schemas.enable=true`` (schema + payload).

    The converter writes the first records; the rest are its schema prefix joined to the payload JSON,
    checked against the converter on a sample (building a million Structs would take minutes).
    """
    import orjson

    from kcfast.converters import JsonConverter

    converter = JsonConverter()
    converter.configure({"schemas.enable": "true"}, False)
    schema = order_schema()
    sample = min(n, 500)
    exact = [converter.from_connect_data("orders", schema, s) for s in order_structs(sample)]
    prefix = exact[0][: exact[0].index(b',"payload":') + len(b',"payload":')]
    values = order_values(n)
    out = [prefix + orjson.dumps(v) + b"}" for v in values]
    if out[:sample] != exact:
        raise AssertionError("the envelope layout differs from JsonConverter's; cannot build the data quickly")
    return out
