"""{{name}}: a function, called as handler(event, context) for each request to /fn/{{name}}/.

event:   method, path, query, headers, body (bytes); event.json() parses a JSON body.
context: request_id, function_name, function_version, remaining_ms, logger.
Return a dict, list or str (sent as JSON: a str arrives quoted), bytes (sent as-is), None (204),
or {"statusCode": 201, "headers": {...}, "body": ...} (a str body is sent as text). Details: docs/api-invoke.md.

Try it:  fastapi-platform invoke {{name}} --file payload.json
"""


def handler(event, context):
    try:
        payload = event.json() if event["body"] else {}
    except ValueError:  # a caller's mistake, not the function's: answer 400, not a 500
        return {"statusCode": 400, "body": {"error": "the body is not JSON"}}
    if not isinstance(payload, dict):
        return {"statusCode": 400, "body": {"error": 'the body must be a JSON object, e.g. {"name": "Ada"}'}}
    name = payload.get("name") or event["query"].get("name", "world")
    context.logger.info("greeting %s", name)
    return {"message": f"hello, {name}", "method": event["method"], "path": event["path"]}
