"""The smallest function: `handler(event, context)`, Lambda-style.

    curl 'http://127.0.0.1:8080/fn/hello/?name=Ada'
"""


def handler(event, context):
    name = event["query"].get("name", "world")
    context.logger.info("greeting %s", name)
    return {"message": f"hello, {name}", "path": event["path"], "requestId": context.request_id}
