"""Tests for {{name}}, run locally with `python -m pytest` (no platform, no database needed).

`context.db` is replaced by a tiny in-memory stand-in with the few pymongo calls main.py uses;
on the platform it is a real pymongo Database.
"""
import pytest

from main import handler


class Cursor(list):
    def sort(self, key, direction):
        return Cursor(reversed(self)) if direction < 0 else self

    def limit(self, n):
        return Cursor(self[:n])


class Collection:
    def __init__(self):
        self.docs = []

    def insert_one(self, doc):
        self.docs.append(dict(doc))

    def find(self, query, projection=None):
        return Cursor(dict(d) for d in self.docs)

    def count_documents(self, query):
        return len(self.docs)


class Db:
    def __init__(self):
        self.orders = Collection()


@pytest.fixture
def db_context(context):
    context.db = Db()
    return context


def test_adds_an_order_and_lists_it(event, db_context):
    answer = handler(event(method="POST", body={"item": "pen", "qty": 2}), db_context)
    assert answer["total"] == 1
    assert answer["orders"][0]["item"] == "pen"


def test_refuses_an_order_without_item(event, db_context):
    assert handler(event(method="POST", body={}), db_context)["statusCode"] == 400
