"""{{name}}: a function with a Mongo database, called as handler(event, context) for each request.

context.db is the function's own database (a pymongo Database, connected on first use and kept
while the instance is warm). It reaches that database only: the platform's proxy refuses any
other. Every write through it carries the run id, so `fastapi-platform runs <runId> --writes`
lists what a run wrote. Code that wants its own client uses os.environ["FP_MONGO_URI"].

POST {"item": "pen", "qty": 2} adds an order; GET lists the latest orders.
Try it:  fastapi-platform invoke {{name}} --file payload.json
"""


def handler(event, context):
    orders = context.db.orders
    if event["method"] == "POST":
        order = event.json() or {}
        if not isinstance(order.get("item"), str):
            return {"statusCode": 400, "body": {"error": "item (a string) is required"}}
        orders.insert_one({"item": order["item"], "qty": int(order.get("qty", 1)), "run": context.run_id})
    latest = list(orders.find({}, {"_id": 0}).sort("_id", -1).limit(10))
    return {"orders": latest, "total": orders.count_documents({})}
