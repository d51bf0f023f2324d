"""{{name}}: a webhook receiver. The platform checks the delivery's signature BEFORE this runs
(GitHub style here: X-Hub-Signature-256, HMAC-SHA256 with the trigger's secret; a bad or missing
signature is refused with 401 and never reaches this code), then queues it as an async run:
retried on failure, replayable, at least once. So: trust the payload, be idempotent on
context.run_id (a redelivered attempt has the same run id).

Set it up:
  fastapi-platform deploy
  fastapi-platform triggers rotate-secret {{name}} github   # → the secret, shown once
  Point the sender (GitHub: Settings → Webhooks) at http://<host>/hooks/{{name}}/github
  with that secret and content type application/json. Details: docs/triggers.md.
"""


def handler(event, context):
    delivery = event.json() or {}
    kind = event["headers"].get("x-github-event", "unknown")
    repo = (delivery.get("repository") or {}).get("full_name", "?")
    context.logger.info("run %s (attempt %s): %s event for %s", context.run_id, context.attempt, kind, repo)
    if kind == "push":
        commits = delivery.get("commits") or []
        return {"event": kind, "repository": repo, "ref": delivery.get("ref"), "commits": len(commits)}
    return {"event": kind, "repository": repo, "ignored": True}
