"""{{name}}: runs on a schedule (platform.yaml `triggers`). Each tick is an async run: retried on
failure, at most one per tick however many platform processes run. The tick's time is in the
X-FP-Cron-Tick header (ISO 8601), the trigger's payload (if any) is the JSON body.

Try it now, without waiting for the schedule:
  fastapi-platform invoke {{name}} --async --wait --file payload.json
"""
from datetime import datetime, timezone


def handler(event, context):
    tick = event["headers"].get("x-fp-cron-tick")
    at = datetime.fromisoformat(tick.replace("Z", "+00:00")) if tick else datetime.now(timezone.utc)
    job = (event.json() or {}).get("job", "report")
    context.logger.info("%s for the tick of %s (run %s)", job, at.isoformat(), context.run_id)
    return {"job": job, "tick": at.isoformat(), "weekday": at.strftime("%A")}
