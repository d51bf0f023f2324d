import secrets
from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm
from security import USERS, make_token, current_user

router = APIRouter(prefix="/auth", tags=["auth"])

@router.post("/token")
def token(form: OAuth2PasswordRequestForm = Depends()):
    if form.username not in USERS or not secrets.compare_digest(USERS[form.username].encode(), form.password.encode()):
        raise HTTPException(400, "Incorrect username or password")
    return {"access_token": make_token(form.username), "token_type": "bearer"}

@router.get("/me")
def me(user: str = Depends(current_user)):
    return {"user": user}
