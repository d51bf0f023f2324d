"""Tests for {{name}}, run locally with `python -m pytest` (no platform needed)."""
from main import handler


def test_greets_by_name_from_the_json_body(event, context):
    answer = handler(event(method="POST", body={"name": "Ada"}), context)
    assert answer["message"] == "hello, Ada"


def test_greets_the_world_by_default(event, context):
    assert handler(event(), context)["message"] == "hello, world"


def test_a_body_that_is_not_a_json_object_is_a_400(event, context):
    assert handler(event(method="POST", body=b"{not json"), context)["statusCode"] == 400
    assert handler(event(method="POST", body=[1, 2]), context)["statusCode"] == 400
