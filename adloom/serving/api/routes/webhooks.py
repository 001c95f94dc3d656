"""Webhook endpoints: register a URL for batch events (the signing secret is returned once, at creation), list,
get and delete them, and read an endpoint's deliveries. Deliveries follow the Standard Webhooks spec
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``); the dispatcher sends and retries them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from adloom.core.storage import webhooks
from adloom.core.types import (
    ALL_WEBHOOK_EVENTS,
    Page,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEventFilter,
)
from adloom.serving.api.deps import After, Limit, StoreDep
from adloom.serving.api.errors import CONFLICT, NOT_FOUND

router = APIRouter(prefix="/v1/webhook_endpoints", tags=["webhooks"])


def _everything() -> list[WebhookEventFilter]:
    return [ALL_WEBHOOK_EVENTS]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(min_length=1, max_length=webhooks.MAX_URL_LENGTH)] = Field(
        description="http(s) URL that receives the events (no user name or password in it)."
    )
    events: list[WebhookEventFilter] = Field(
        default_factory=_everything,
        min_length=1,
        max_length=16,
        description="Event types to receive, or ['*'] for all.",
    )


class WebhookEndpointCreated(WebhookEndpoint):
    """The new endpoint and its signing secret: store the secret now, it is never shown again."""

    secret: str = Field(description="whsec_… (Standard Webhooks); verify each delivery's webhook-signature with it.")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookEndpointCreated, responses=CONFLICT)
def create_endpoint(body: WebhookEndpointCreate, store: StoreDep) -> WebhookEndpointCreated:
    endpoint, secret = webhooks.create_endpoint(store, body.url, [str(e) for e in body.events])
    return WebhookEndpointCreated(**endpoint.model_dump(), secret=secret)


@router.get("", response_model=Page[WebhookEndpoint])
def list_endpoints(store: StoreDep, limit: Limit = 20, after: After = None) -> Page[WebhookEndpoint]:
    """This tenant's endpoints, newest first (no secrets)."""
    return webhooks.list_endpoints(store, limit=limit, after=after)


@router.get("/{endpoint_id}", response_model=WebhookEndpoint, responses=NOT_FOUND)
def get_endpoint(endpoint_id: str, store: StoreDep) -> WebhookEndpoint:
    return webhooks.get_endpoint(store, endpoint_id)


@router.delete("/{endpoint_id}", response_model=WebhookEndpoint, responses=NOT_FOUND)
def delete_endpoint(endpoint_id: str, store: StoreDep) -> WebhookEndpoint:
    """Stop sending to the endpoint; its pending deliveries fail, its history stays readable."""
    return webhooks.delete_endpoint(store, endpoint_id)


@router.get("/{endpoint_id}/deliveries", response_model=Page[WebhookDelivery], responses=NOT_FOUND)
def list_deliveries(
    endpoint_id: str,
    store: StoreDep,
    limit: Limit = 20,
    after: After = None,
    status: Annotated[WebhookDeliveryStatus | None, Query(description="Only deliveries in this state.")] = None,
) -> Page[WebhookDelivery]:
    """Deliveries to one endpoint, newest first: status, attempts, last error (a short status line)."""
    return webhooks.list_deliveries(store, endpoint_id, limit=limit, after=after, status=status)
