"""The base of every request body: unknown fields are refused (422 naming them), so a
misspelt field never drops data silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
