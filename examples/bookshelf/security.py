import hashlib, hmac, os, secrets
from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, HTTPBasic, HTTPBasicCredentials

oauth2 = OAuth2PasswordBearer(tokenUrl="auth/token")
basic = HTTPBasic()
USERS = {"alice": "wonderland"}

def _signing_key() -> bytes:
    # Fails closed: without the secret (`env set bookshelf SIGNING_KEY=… --secret`) no token is made or taken.
    key = os.environ.get("SIGNING_KEY", "")
    if not key:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "SIGNING_KEY is not set")
    return key.encode()

def make_token(user: str) -> str:
    # An HMAC of the user under the key: the token never carries the key itself.
    return f"tok-{user}-{hmac.new(_signing_key(), user.encode(), hashlib.sha256).hexdigest()}"

def current_user(token: str = Depends(oauth2)) -> str:
    for u in USERS:
        if secrets.compare_digest(token, make_token(u)):
            return u
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bad token", headers={"WWW-Authenticate": "Bearer"})

def admin(creds: HTTPBasicCredentials = Depends(basic)) -> str:
    # Fails closed: without ADMIN_PASSWORD set, no password (the empty one included) is the admin's.
    expected = os.environ.get("ADMIN_PASSWORD", "")
    ok = bool(expected) and secrets.compare_digest(creds.username, "admin") and secrets.compare_digest(creds.password.encode(), expected.encode())
    if not ok:
        raise HTTPException(401, "no", headers={"WWW-Authenticate": "Basic"})
    return creds.username
