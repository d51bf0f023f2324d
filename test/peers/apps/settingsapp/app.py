"""Config from the environment with pydantic-settings (env values and a secret set on the platform)."""
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")
    name: str = "default-name"
    debug: bool = False
    max_items: int = 5
    allowed: list[str] = []
    api_key: SecretStr = SecretStr("")


@lru_cache
def get_settings() -> Settings:
    return Settings()


app = FastAPI()


@app.get("/config")
def config(s: Annotated[Settings, Depends(get_settings)]):
    return {
        "name": s.name,
        "debug": s.debug,
        "max_items": s.max_items,
        "allowed": s.allowed,
        "api_key_set": bool(s.api_key.get_secret_value()),
        "api_key_len": len(s.api_key.get_secret_value()),
        "repr": repr(s.api_key),
    }
