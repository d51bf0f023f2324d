"""Tests for {{name}}, run locally with `python -m pytest` (no platform needed)."""
from main import handler


def test_reads_the_tick_and_the_payload(event, context):
    tick = {"X-FP-Cron-Tick": "2026-12-07T09:05:00.000Z"}
    answer = handler(event(method="POST", headers=tick, body={"job": "cleanup"}), context)
    assert answer == {"job": "cleanup", "tick": "2026-12-07T09:05:00+00:00", "weekday": "Monday"}
