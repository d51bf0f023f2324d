"""{{name}}: an async worker. Callers POST to /async/{{name}}/ and get 202 {runId} at once; the
platform runs this with retries (context.attempt) and keeps the result for
`fastapi-platform runs <runId>`. Delivery is at least once: make the work idempotent on
context.run_id (the same on every attempt of a run), e.g. as the key of what you write.

Try it:  fastapi-platform invoke {{name}} --async --wait --file payload.json
"""


class TransientError(Exception):
    """Raised for a failure worth retrying (any exception is retried, up to retry.maxAttempts)."""


def handler(event, context):
    job = event.json() or {}
    items = job.get("items", [])
    if not isinstance(items, list):
        # A 4xx answer is not retried: the input will not get better.
        return {"statusCode": 400, "body": {"error": "items must be a list"}}
    total = sum(float(item.get("price", 0)) * int(item.get("quantity", 1)) for item in items)
    context.logger.info("order %s: %d items, total %.2f (attempt %d)", context.run_id, len(items), total, context.attempt)
    return {"order": context.run_id, "items": len(items), "total": round(total, 2)}
