import os, secrets
from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, HTTPBasic, HTTPBasicCredentials

oauth2 = OAuth2PasswordBearer(tokenUrl="auth/token")
basic = HTTPBasic()
USERS = {"alice": "wonderland"}

def make_token(user: str) -> str:
    return f"tok-{user}-{os.environ.get('SIGNING_KEY', 'dev')}"

def current_user(token: str = Depends(oauth2)) -> str:
    for u in USERS:
        if secrets.compare_digest(token, make_token(u)):
            return u
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bad token", headers={"WWW-Authenticate": "Bearer"})

def admin(creds: HTTPBasicCredentials = Depends(basic)) -> str:
    ok = secrets.compare_digest(creds.username, "admin") and secrets.compare_digest(creds.password, os.environ.get("ADMIN_PASSWORD", ""))
    if not ok:
        raise HTTPException(401, "no", headers={"WWW-Authenticate": "Basic"})
    return creds.username
