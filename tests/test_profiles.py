"""The first migration: profiles mirrored from auth.users, readable and editable only by their owner."""

from __future__ import annotations

import uuid

import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_anon, as_user


def profile(db, user_id):
    return db.execute("select full_name, avatar_url from public.profiles where id = %s", (user_id,)).fetchone()


def test_sign_up_creates_a_profile_from_the_user_metadata(db, make_user):
    email_user = make_user(full_name="Ada Lovelace", avatar_url="https://example.com/ada.png")
    oauth_user = make_user(name="Grace Hopper", picture="https://example.com/grace.png")
    bare_user = make_user()
    assert profile(db, email_user) == ("Ada Lovelace", "https://example.com/ada.png")
    assert profile(db, oauth_user) == ("Grace Hopper", "https://example.com/grace.png"), "OAuth metadata keys"
    assert profile(db, bare_user) == (None, None), "a user without metadata still gets a profile"


def can_read(db, reader, target) -> bool:
    with as_user(db, reader, method="GET") as cur:
        return cur.execute("select count(*) from public.profiles where id = %s", (target,)).fetchone()[0] == 1


def test_users_read_their_own_profile_and_not_someone_elses(db, make_user):
    alice, bob = make_user(), make_user()
    assert can_read(db, alice, alice), "a user must see their own profile"
    assert not can_read(db, alice, bob), "a stranger's profile must stay hidden"


def test_users_update_their_own_name_but_not_someone_elses(db, make_user):
    alice, bob = make_user(full_name="Alice"), make_user(full_name="Bob")
    with as_user(db, alice, method="PATCH") as cur:
        assert cur.execute("update public.profiles set full_name = 'Alice L.' where id = %s returning id",
                           (alice,)).fetchall() == [(alice,)]
        assert cur.execute("update public.profiles set full_name = 'hacked' where id = %s returning id",
                           (bob,)).fetchall() == [], "RLS hides the row: the update touches nothing"
    assert profile(db, alice)[0] == "Alice L."
    assert profile(db, bob)[0] == "Bob"


def test_users_cannot_change_their_profile_id(db, make_user):
    alice = make_user()
    with pytest.raises(RequestError) as refused, as_user(db, alice, method="PATCH") as cur:
        cur.execute("update public.profiles set id = %s where id = %s", (uuid.uuid4(), alice))
    assert refused.value.status == 403, "only full_name and avatar_url are granted for update"


def test_anon_cannot_read_profiles(db, make_user):
    make_user()
    with pytest.raises(RequestError) as refused, as_anon(db, method="GET") as cur:
        cur.execute("select * from public.profiles")
    assert refused.value.status == 401, "PostgREST answers 401 to anon for a missing grant"


def test_updated_at_moves_on_update_and_profiles_go_with_their_user(db, make_user):
    alice = make_user()
    db.execute("update public.profiles set updated_at = now() - interval '1 day' where id = %s", (alice,))
    db.execute("update public.profiles set full_name = 'A' where id = %s", (alice,))
    fresh = db.execute("select updated_at > now() - interval '1 minute' from public.profiles where id = %s",
                       (alice,)).fetchone()[0]
    assert fresh, "the trigger maintains updated_at"
    db.execute("delete from auth.users where id = %s", (alice,))
    assert profile(db, alice) is None, "deleting the user deletes the profile"


def test_overlong_names_are_rejected_with_a_named_constraint(db, make_user):
    alice = make_user()
    with pytest.raises(RequestError) as refused, as_user(db, alice, method="PATCH") as cur:
        cur.execute("update public.profiles set full_name = repeat('x', 201) where id = %s", (alice,))
    assert refused.value.status == 400 and "full_name_is_short" in refused.value.message
