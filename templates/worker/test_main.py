"""Tests for {{name}}, run locally with `python -m pytest` (no platform needed)."""
from main import handler


def test_totals_an_order(event, context):
    answer = handler(event(method="POST", body={"items": [{"price": 9.5, "quantity": 2}, {"price": 3}]}), context)
    assert answer["items"] == 2 and answer["total"] == 22.0
    assert answer["order"] == context.run_id


def test_refuses_a_malformed_order_without_retrying(event, context):
    assert handler(event(method="POST", body={"items": "nope"}), context)["statusCode"] == 400
