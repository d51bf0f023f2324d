"""An attacker function's client code, run against the data proxy by data-proxy-attack.test.ts.

It holds its own binding's URI (argv[1]) and tries to get out of it with pymongo and with raw
sockets. Prints one JSON object: attack name -> "refused:<code>", "closed" or "ALLOWED <detail>".
argv: uri, socket path, own database, other database, other binding's cursor id, the other binding's credential in a URI naming the attacker's own socket.
"""
import json
import socket
import struct
import sys

import bson
from bson.int64 import Int64
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

uri, sock_path, own_db, other_db, other_cursor, other_uri = sys.argv[1:7]
results = {}


def attempt(name, fn):
    try:
        detail = fn()
        results[name] = f"ALLOWED {detail!r}"[:200]
    except OperationFailure as err:
        results[name] = f"refused:{err.code}:{str(err).split(':')[0]}"
    except PyMongoError as err:
        results[name] = f"error:{type(err).__name__}"


client = MongoClient(uri, serverSelectionTimeoutMS=5000, retryWrites=False, retryReads=False)
own = client[own_db]
other = client[other_db]

attempt("other-db-find", lambda: other.c.find_one())
attempt("other-db-insert", lambda: other.c.insert_one({"x": 1}).inserted_id)
attempt("list-databases", lambda: client.list_database_names())
attempt("admin-serverStatus", lambda: client.admin.command("serverStatus"))
attempt("admin-shutdown", lambda: client.admin.command("shutdown"))
attempt("admin-getCmdLineOpts", lambda: client.admin.command("getCmdLineOpts"))
attempt("create-user", lambda: own.command("createUser", "evil", pwd="x", roles=["root"]))
attempt("grant-roles", lambda: own.command("grantRolesToUser", "evil", roles=["root"]))
attempt("drop-database", lambda: own.command("dropDatabase"))
attempt("rename-into-other-db", lambda: client.admin.command("renameCollection", f"{own_db}.items", to=f"{other_db}.items"))
attempt("out-other-db", lambda: list(own.items.aggregate([{"$match": {}}, {"$out": {"db": other_db, "coll": "stolen"}}])))
attempt("merge-other-db", lambda: list(own.items.aggregate([{"$merge": {"into": {"db": other_db, "coll": "stolen"}}}])))
attempt("lookup-other-db", lambda: list(own.items.aggregate([{"$lookup": {"from": {"db": other_db, "coll": "c"}, "as": "x", "pipeline": []}}])))
attempt("aggregate-other-db", lambda: list(other.c.aggregate([{"$match": {}}])))
attempt("current-op", lambda: list(own.aggregate([{"$currentOp": {}}])))
attempt("where-js", lambda: own.items.find_one({"$where": "true"}))
attempt("function-js", lambda: own.items.find_one({"$expr": {"$function": {"body": "function(){return true}", "args": [], "lang": "js"}}}))
attempt("map-reduce", lambda: own.command("mapReduce", "items", map=bson.Code("function(){}"), reduce=bson.Code("function(){}"), out={"inline": 1}))
attempt("eval", lambda: own.command("eval", "1"))
attempt("explain-other-db", lambda: own.command("explain", {"find": "c", "$db": other_db}))
attempt("getmore-other-cursor", lambda: own.command({"getMore": Int64(int(other_cursor)), "collection": "c"}))
attempt("killcursors-other-cursor", lambda: own.command({"killCursors": "c", "cursors": [Int64(int(other_cursor))]}))
attempt("system-collection", lambda: own["system.users"].find_one())
attempt("lookup-system-collection", lambda: list(own.items.aggregate([{"$lookup": {"from": "system.views", "as": "x", "pipeline": []}}])))
attempt("unionwith-system-collection", lambda: list(own.items.aggregate([{"$unionWith": "system.js"}])))
attempt("other-binding-credential", lambda: MongoClient(other_uri, serverSelectionTimeoutMS=3000)[other_db].c.find_one())


def raw(frame):
    """Sends raw bytes on a new connection; 'closed' if the proxy hangs up, else the reply."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock_path)
    try:
        s.sendall(frame)
        data = s.recv(65536)
        if not data:
            return "closed"
        return "refused" if b"DATA_SCOPE_FORBIDDEN" in data else f"reply:{data[:80]!r}"
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    finally:
        s.close()


def header(length, op):
    return struct.pack("<iiii", length, 7, 0, op)


def op_msg(doc, flags=0):
    body = bson.encode(doc)
    return header(16 + 4 + 1 + len(body), 2013) + struct.pack("<I", flags) + b"\x00" + body


def op_query(ns, doc):
    body = bson.encode(doc)
    rest = struct.pack("<i", 0) + ns.encode() + b"\x00" + struct.pack("<ii", 0, -1) + body
    return header(16 + len(rest), 2004) + rest


results["raw-huge-length"] = raw(header(200 * 1024 * 1024, 2013) + b"\x00" * 64)
results["raw-negative-length"] = raw(struct.pack("<iiii", -5, 1, 0, 2013))
results["raw-garbage-section"] = raw(header(16 + 4 + 8, 2013) + struct.pack("<I", 0) + b"\x09garbage")
results["raw-bad-bson"] = raw(header(16 + 4 + 1 + 10, 2013) + struct.pack("<I", 0) + b"\x00" + struct.pack("<i", 200) + b"\x02x\x00\xff\xff\xff")
results["raw-op-query-find"] = raw(op_query(f"{other_db}.c", {"find": "c"}))
results["raw-op-query-admin-cmd"] = raw(op_query("admin.$cmd", {"listDatabases": 1}))
results["raw-op-compressed"] = raw(header(16 + 9, 2012) + struct.pack("<iiB", 2013, 10, 0))
results["raw-op-insert-legacy"] = raw(header(16 + 4 + 6, 2002) + struct.pack("<i", 0) + b"a.b\x00\x05\x00")
results["raw-more-to-come"] = raw(op_msg({"ping": 1, "$db": own_db}, flags=2))
results["raw-exhaust"] = raw(op_msg({"ping": 1, "$db": own_db}, flags=1 << 16))
results["raw-checksum"] = raw(op_msg({"ping": 1, "$db": own_db}, flags=1))
results["raw-unauthenticated-find"] = raw(op_msg({"find": "c", "$db": other_db}))
results["raw-unauthenticated-find-own"] = raw(op_msg({"find": "items", "$db": own_db}))



def flood(n):
    """Opens n connections at once: past the per-function cap the proxy hangs up on the rest."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(sock_path)
            socks.append(s)
        last = socks[-1]
        last.sendall(op_msg({"ping": 1, "$db": own_db}))
        try:
            return "closed" if not last.recv(100) else "ALLOWED all connections served"
        except (ConnectionResetError, BrokenPipeError):
            return "closed"
    finally:
        for s in socks:
            s.close()


results["raw-connection-flood"] = flood(300)

# Still standing, still useful: its own database works after all of the above.
own.items.insert_one({"after": True}, comment="fp:run=attack-run")
results["own-db-still-works"] = own.items.count_documents({"after": True})
print(json.dumps(results))
