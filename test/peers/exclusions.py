"""Tests of FastAPI's tutorial suite that do not run through the platform, each with its reason.

An excluded test still runs in-process (its result is in the report); through the platform it
is skipped and reported as excluded. Exclusions are for tests whose outcome through *any* HTTP
server would say nothing about the platform: they inspect objects of the test process.
WebSockets run (TestClient.websocket_connect opens a real one to the gateway: remote_websocket.py;
apps round 31); the tutorial tests that expect the app's WebSocketDisconnect raised into the test
stay excluded by the `pytest.raises` rule.
Anything else that fails through the platform is a finding, never an exclusion.
"""
from __future__ import annotations

import re

# (regular expression searched in the test function's source, reason)
SOURCE_RULES: list[tuple[str, str]] = [
    (r"dependency_overrides",
     "sets app.dependency_overrides in the test process: the deployed app never sees it"),
    (r"pytest\.raises\(",
     "expects the app's exception to be raised into the test (TestClient raise_server_exceptions): over HTTP it is a 500"),
    (r"\bpatch(\.\w+)?\(|monkeypatch\.setattr\(|capsys|caplog",
     "patches or captures objects of the test process (print output, logging, module attributes)"),
    (r"monkeypatch\.(setenv|delenv)\(",
     "configures the app through the test process's environment and re-imports it (a function's env is fixed at deploy)"),
    (r"cast\(Any, \w+\)\.\w+\s*=(?!=)|\bmod\.\w+\s*=(?!=)",
     "sets attributes of the tutorial module in the test process"),
]

# (regular expression searched in the whole test module's source, reason): applies to every test of it.
MODULE_RULES: list[tuple[str, str]] = [
    (r"(?m)^@app\.(get|post|put|delete|patch|api_route|route)\(",
     "the test module adds routes to the app in the test process"),
]

# (regular expression matched at the start of the node id, reason): files and tests whose
# reason cannot be seen in the test function itself.
NODE_RULES: list[tuple[str, str]] = [
    (r"tests/test_tutorial/test_background_tasks/",
     "reads log.txt that the app's background task wrote into the test's working directory"),
    (r"tests/test_tutorial/test_python_types/|tests/test_tutorial/test_encoder/",
     "calls the tutorial's Python functions directly: no HTTP"),
    (r"tests/test_tutorial/test_settings/test_app02\.py::test_override_settings",
     "runs docs_src/settings/app02/test_main.py, which sets app.dependency_overrides in the test process"),
    (r"tests/test_tutorial/test_custom_request_and_route/test_tutorial001\.py::test_request_class",
     "its fixture adds the /check-class route to the app in the test process"),
]


def reason(nodeid: str, source: str, module_source: str) -> str | None:
    """Why this test is excluded, or None."""
    for pattern, why in NODE_RULES:
        if re.match(pattern, nodeid):
            return why
    for pattern, why in SOURCE_RULES:
        if re.search(pattern, source):
            return why
    for pattern, why in MODULE_RULES:
        if re.search(pattern, module_source):
            return why
    return None
