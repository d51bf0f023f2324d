"""{{name}}: a function, called as handler(event, context) for each request to /fn/{{name}}/.

event:   method, path, query, headers, body (bytes); event.json() parses a JSON body.
context: request_id, function_name, function_version, remaining_ms, logger.
Return a dict or list (sent as JSON), a str, bytes, None (204), or
{"statusCode": 201, "headers": {...}, "body": ...}. Details: docs/api-invoke.md.

Try it:  fastapi-platform invoke {{name}} --file payload.json
"""


def handler(event, context):
    payload = event.json() if event["body"] else {}
    name = (payload or {}).get("name") or event["query"].get("name", "world")
    context.logger.info("greeting %s", name)
    return {"message": f"hello, {name}", "method": event["method"], "path": event["path"]}
