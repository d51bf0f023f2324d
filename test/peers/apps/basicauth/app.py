"""FastAPI's security tutorial beyond OAuth2: HTTP Basic (no realm, and a named realm) and API keys
in a header, the query and a cookie. At /fn/<name>/ the Basic challenge's realm starts with the
function's prefix (ADR 0213); everything else is as under uvicorn."""
import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, APIKeyQuery, HTTPBasic, HTTPBasicCredentials

app = FastAPI()
basic = HTTPBasic()
admin_basic = HTTPBasic(realm="Admin area")
key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
key_query = APIKeyQuery(name="api_key", auto_error=False)
key_cookie = APIKeyCookie(name="api_key", auto_error=False)


def check(credentials: HTTPBasicCredentials, scheme: str) -> str:
    ok_user = secrets.compare_digest(credentials.username.encode("utf8"), b"stanleyjobson")
    ok_pass = secrets.compare_digest(credentials.password.encode("utf8"), b"swordfish")
    if not (ok_user and ok_pass):
        raise HTTPException(status_code=401, detail="Incorrect username or password", headers={"WWW-Authenticate": scheme})
    return credentials.username


@app.get("/users/me")
def me(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]):
    return {"username": check(credentials, "Basic")}


@app.get("/admin")
def admin(credentials: Annotated[HTTPBasicCredentials, Depends(admin_basic)]):
    return {"admin": check(credentials, 'Basic realm="Admin area", charset="UTF-8"')}


def api_key(h: str | None = Security(key_header), q: str | None = Security(key_query), c: str | None = Security(key_cookie)):
    for where, value in (("header", h), ("query", q), ("cookie", c)):
        if value == "k-123":
            return where
    raise HTTPException(status_code=403, detail="Not authenticated")


@app.get("/keyed")
def keyed(where: Annotated[str, Depends(api_key)]):
    return {"via": where}
