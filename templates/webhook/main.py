"""{{name}}: a webhook receiver. On /hooks/{{name}}/github the platform checks the delivery's
signature BEFORE this runs (GitHub style here: X-Hub-Signature-256, HMAC-SHA256 with the
trigger's secret; a bad or missing signature is refused with 401 and never reaches this code),
then queues it as an async run: retried on failure, replayable, at least once. Be idempotent on
context.run_id (a redelivered attempt has the same run id).

The signature guards /hooks/ only: a public function's /async/{{name}}/ route takes anyone's
call, unsigned. Deploy with --auth token so that route needs the invoke token; a verified
delivery carries the header X-FP-Trigger-Id: github, which the platform sets and never passes
from a caller.

Set it up:
  fastapi-platform deploy --auth token
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
