import logging
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from .config import Settings, get_settings

log = logging.getLogger("shop.deps")
SettingsDep = Annotated[Settings, Depends(get_settings)]


class FakeSession:
    def __init__(self):
        self.closed = False
        self.events: list[str] = []


def get_session():
    s = FakeSession()
    log.info("session opened")
    try:
        yield s
    except Exception as e:  # FastAPI re-raises route errors into yield deps
        log.warning("session rollback after %s", type(e).__name__)
        raise
    finally:
        s.closed = True
        log.info("session closed")


SessionDep = Annotated[FakeSession, Depends(get_session)]


async def verify_key(settings: SettingsDep, x_api_key: Annotated[str | None, Header()] = None):
    if x_api_key != settings.api_key:
        raise HTTPException(status_code=401, detail="bad api key", headers={"WWW-Authenticate": "ApiKey"})
    return x_api_key


def get_client(request: Request):
    return request.state.http
