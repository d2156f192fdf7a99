"""The HTTP API: health, and a small items resource."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel

from service import logs
from service.config import Settings
from service.items import Item, ItemIn, ItemStore

log = logging.getLogger("service")


class Health(BaseModel):
    status: str
    stage: str
    release: str


class Problem(BaseModel):
    """What an error answer carries (FastAPI's `{"detail": ...}`)."""

    detail: str


# Every status an operation can answer is in the OpenAPI document: the acceptance suite's contract
# part fails on an undocumented one.
NOT_FOUND = {404: {"model": Problem, "description": "No item has this id"}}
UNREADABLE_BODY = {400: {"model": Problem, "description": "The body is not readable JSON"}}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    logs.configure(
        settings.log_level,
        service=settings.service_name,
        stage=settings.stage,
        release=settings.release,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("started")
        yield
        log.info("stopped")  # after the requests in flight have finished (service/server.py)

    app = FastAPI(title=settings.service_name, version=settings.release, lifespan=lifespan)
    store = ItemStore()

    @app.middleware("http")
    async def access_log(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response: Response = await call_next(request)
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response

    @app.get("/health")
    def health() -> Health:
        return Health(status="ok", stage=settings.stage, release=settings.release)

    @app.get("/items")
    def list_items() -> list[Item]:
        return store.list()

    @app.get("/items/{item_id}", responses=NOT_FOUND)
    def get_item(item_id: int) -> Item:
        item = store.get(item_id)
        if item is None:
            raise HTTPException(status_code=404, detail=f"item {item_id} not found")
        return item

    @app.post("/items", status_code=201, responses=UNREADABLE_BODY)
    def create_item(data: ItemIn) -> Item:
        item = store.create(data)
        log.info("item created", extra={"item_id": item.id})
        return item

    return app


app = create_app()
