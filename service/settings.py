"""Service settings from environment variables (prefix CONTAMFILTER_), read once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from filter.core import DEFAULT_MAX_BYTES


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTAMFILTER_", frozen=True)

    model_dir: Path | None = Field(None, description="model folder (default: the shipped model)")
    max_body_bytes: int = Field(DEFAULT_MAX_BYTES, gt=0, description="largest request body")
    max_batch: int = Field(64, gt=0, description="most documents in one /v1/score/batch call")
    workers: int = Field(
        1, gt=0, description="scoring processes; 1 scores in the HTTP process itself")
    micro_batch: int = Field(
        16, gt=0, description="most waiting documents a scorer takes in one model call")
    batch_wait_ms: float = Field(
        2.0, ge=0, le=100, description="when every other scorer is busy, how long a free "
        "one waits for more documents before it calls the model (0: never)")
    allow_save: Path | None = Field(
        None, description="folder the review page's 'Save to seeds' writes into "
        "(default: saving is off)")

    @field_validator("allow_save", mode="before")
    @classmethod
    def _existing_folder(cls, value: object) -> Path | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None  # CONTAMFILTER_ALLOW_SAVE= (empty): off, not the current folder
        path = Path(str(value))
        if not path.is_dir():
            raise ValueError(f"{path} is not a directory")
        return path.resolve()


@lru_cache
def get_settings() -> Settings:
    return Settings()
