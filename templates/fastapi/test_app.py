"""Tests for {{name}}, run locally with `python -m pytest` (no platform needed;
pip install pytest "fastapi[standard]" for the test client)."""
from fastapi.testclient import TestClient

from app import app

client = TestClient(app)


def test_index():
    assert client.get("/").json() == {"service": "{{name}}"}


def test_greet():
    assert client.post("/greet", json={"name": "Ada"}).json() == {"message": "hello, Ada"}
