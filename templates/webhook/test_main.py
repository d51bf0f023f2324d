"""Tests for {{name}}, run locally with `python -m pytest` (no platform needed).

The platform verifies signatures before the handler runs, so the tests hand it verified payloads.
"""
import json
from pathlib import Path

from main import handler

PUSH = json.loads((Path(__file__).parent / "payload.json").read_text())


def test_counts_the_commits_of_a_push(event, context):
    answer = handler(event(method="POST", headers={"X-GitHub-Event": "push"}, body=PUSH), context)
    assert answer == {"event": "push", "repository": "acme/shop", "ref": "refs/heads/main", "commits": 1}


def test_ignores_other_events(event, context):
    answer = handler(event(method="POST", headers={"X-GitHub-Event": "star"}, body={"repository": {"full_name": "acme/shop"}}), context)
    assert answer["ignored"] is True
