"""A committed messaging world for the Storage API tests (tests/test_storage_*.py): an organization with a manager,
a member, a client and an outsider (a member who takes part in nothing), a group conversation started by the manager
with the member, the client and `removed` (whose membership is then deleted), and each person's access token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import psycopg

from functions_py.postgrest import as_user
from functions_py.tokens import LOCAL_JWT_SECRET, user_token

PEOPLE = ("manager", "member", "client", "outsider", "removed")


@dataclass
class World:
    org: uuid.UUID
    group: uuid.UUID
    people: dict[str, uuid.UUID]
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str, anon_key: str) -> dict[str, str]:
        return {"apikey": anon_key, "Authorization": f"Bearer {self.tokens[who]}"}


def build_world(url: str) -> World:
    people = {name: uuid.uuid4() for name in PEOPLE}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, user in people.items():
            conn.execute("insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data,"
                         " raw_user_meta_data) values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated',"
                         " 'authenticated', %s, '{}', %s)",
                         (user, f"{name}-{user.hex[:6]}@example.com", psycopg.types.json.Jsonb({"full_name": name})))
        org, = conn.execute("insert into public.organizations (name, slug) values ('Files', %s) returning id",
                            (f"files-{uuid.uuid4().hex[:8]}",)).fetchone()
        roles = {"manager": "manager", "member": "member", "client": "client", "outsider": "member",
                 "removed": "member"}
        for name, role in roles.items():
            conn.execute("insert into public.memberships (organization_id, user_id, role) values (%s, %s, %s)",
                         (org, people[name], role))
    with psycopg.connect(url) as conn:
        with as_user(conn, people["manager"]) as cur:
            group, = cur.execute("insert into public.conversations (organization_id, kind, title)"
                                 " values (%s, 'group', 'Files') returning id", (org,)).fetchone()
            cur.execute("insert into public.conversation_participants (conversation_id, user_id)"
                        " values (%s, %s), (%s, %s), (%s, %s)",
                        (group, people["member"], group, people["client"], group, people["removed"]))
        conn.commit()
    world = World(org=org, group=group, people=people,
                  tokens={name: user_token(user, LOCAL_JWT_SECRET) for name, user in people.items()})
    return world


def remove_member(url: str, world: World, who: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("delete from public.memberships where organization_id = %s and user_id = %s",
                     (world.org, world.people[who]))


def object_rows(url: str, bucket: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("select name, owner_id, version, metadata from storage.objects where bucket_id = %s"
                            " order by name", (bucket,)).fetchall()
