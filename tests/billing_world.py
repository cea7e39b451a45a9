"""A committed billing world for edge-app tests: organization ORG (the fixtures' organization) with an owner, an
admin and a member, plus an outsider, in a fresh database; and the edge app built for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from starlette.testclient import TestClient

from functions_py.billing.settings import StripeSettings
from functions_py.http import EdgeSettings, create_app
from functions_py.tokens import TokenSettings, user_token
from tests import factories
from tests.stripe_events import ORG, WEBHOOK_SECRET

JWT_SECRET = "test-jwt-secret-with-at-least-32-characters!"
STRIPE_KEY = "sk_test_51SUnx0Jq8Kx2LmB2abcdefghijklmnop"
ROLES = ("owner", "admin", "member")


@dataclass
class BillingWorld:
    url: str
    users: dict[str, uuid.UUID]
    org: uuid.UUID

    def token(self, who: str) -> str:
        return user_token(self.users[who], JWT_SECRET, email=f"{who}@acme.example")

    def auth(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(who)}"}


def build_world(url: str) -> BillingWorld:
    users = {who: uuid.uuid4() for who in (*ROLES, "outsider")}
    with psycopg.connect(url, autocommit=True) as conn:
        for who, user in users.items():
            factories.user(conn, f"{who}@acme.example", user_id=user)
        factories.organization(conn, "Acme", "acme", org_id=ORG)
        for role in ROLES:
            factories.membership(conn, ORG, users[role], role)
    return BillingWorld(url=url, users=users, org=uuid.UUID(ORG))


def edge_settings(url: str, *, stripe_api: str | None = None, secret_key: str | None = STRIPE_KEY,
                  webhook_secret: str | None = WEBHOOK_SECRET) -> EdgeSettings:
    return EdgeSettings(database_url=url, tokens=TokenSettings(secret=JWT_SECRET),
                        stripe=StripeSettings(secret_key=secret_key, webhook_secret=webhook_secret,
                                              api_base=stripe_api), pool_size=4)


@contextmanager
def edge_client(settings: EdgeSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client
