from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_prefix="SHOP_")
    app_name: str = "Shop"
    upstream_url: str = "http://127.0.0.1:18799"
    upload_dir: str = "/tmp/uploads"
    allowed_origins: list[str] = ["http://localhost:3000"]
    api_key: str = "dev-key"


@lru_cache
def get_settings() -> Settings:
    return Settings()
