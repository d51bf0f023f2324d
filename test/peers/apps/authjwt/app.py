"""OAuth2 password flow with JWTs (pyjwt), dependencies and scopes."""
from datetime import datetime, timedelta, timezone
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException, Security, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm, SecurityScopes
from pydantic import BaseModel

SECRET = "not-a-real-secret-but-long-enough-for-hs256"
USERS = {"alice": {"username": "alice", "password": "wonderland", "full_name": "Alice", "scopes": ["me", "items"]},
         "bob": {"username": "bob", "password": "builder", "full_name": "Bob", "scopes": ["me"]}}

oauth2 = OAuth2PasswordBearer(tokenUrl="token", scopes={"me": "Read yourself", "items": "Read items"})
app = FastAPI()


class Token(BaseModel):
    access_token: str
    token_type: str


class User(BaseModel):
    username: str
    full_name: str


def make_token(sub: str, scopes: list[str]) -> str:
    # A fixed issue time keeps both servers' answers byte-identical.
    iat = datetime(2030, 1, 1, tzinfo=timezone.utc)
    return jwt.encode({"sub": sub, "scopes": scopes, "iat": iat, "exp": iat + timedelta(days=3650)}, SECRET, algorithm="HS256")


@app.post("/token", response_model=Token)
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]):
    user = USERS.get(form.username)
    if not user or user["password"] != form.password:
        raise HTTPException(status_code=400, detail="Incorrect username or password")
    scopes = [s for s in form.scopes if s in user["scopes"]] or user["scopes"]
    return {"access_token": make_token(user["username"], scopes), "token_type": "bearer"}


def current_user(security_scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)]) -> User:
    authenticate = f'Bearer scope="{security_scopes.scope_str}"' if security_scopes.scopes else "Bearer"
    exc = HTTPException(status.HTTP_401_UNAUTHORIZED, "Could not validate credentials", headers={"WWW-Authenticate": authenticate})
    try:
        payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        raise exc
    user = USERS.get(payload.get("sub"))
    if user is None:
        raise exc
    for scope in security_scopes.scopes:
        if scope not in payload.get("scopes", []):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Not enough permissions", headers={"WWW-Authenticate": authenticate})
    return User(**user)


@app.get("/users/me", response_model=User)
def me(user: Annotated[User, Security(current_user, scopes=["me"])]):
    return user


@app.get("/users/me/items")
def items(user: Annotated[User, Security(current_user, scopes=["items"])]):
    return [{"item_id": "foo", "owner": user.username}]
