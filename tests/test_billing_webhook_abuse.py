"""The Stripe webhook under abuse (issue 20 item 7): correctly signed bodies PostgreSQL cannot store or Python
cannot parse, bodies too large, bodies held open, bodies aborted. Posted as Stripe does (signed for real), through
the ASGI app and, where the socket matters, through uvicorn on a real port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
import uvicorn

from functions_py.embedded import free_port
from functions_py.http import create_app
from tests.billing_world import build_world, edge_client, edge_settings
from tests.cli import run_cli
from tests.stripe_events import event, signature, signed

WEBHOOK = "/functions/v1/stripe-webhook"


@pytest.fixture
def world(fresh_db):
    return build_world(fresh_db)


@pytest.fixture
def client(world):
    with edge_client(edge_settings(world.url)) as client:
        yield client


def ledger(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select id, type, processed_at is not null, attempts, error from internal.stripe_events"
                            " order by id").fetchall()


def signed_raw(payload: bytes) -> dict[str, str]:
    return {"stripe-signature": signature(payload), "content-type": "application/json"}


def test_a_signed_event_holding_a_nul_character_is_stored_listed_as_failed_and_replayable(world, client):
    ev = event("customer.subscription.created", id="evt_1SUoNulJq8Kx2LmB2NulChr1")
    ev["data"]["object"]["metadata"]["note"] = "before\u0000after"  # json.dumps writes it as \u0000
    payload, headers = signed(ev)
    assert b"\\u0000" in payload

    response = client.post(WEBHOOK, content=payload, headers=headers)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["received"] is True and answer["id"] == ev["id"] and answer["outcome"] == "unstorable"
    assert "\\u0000" in answer["error"] and "supakit billing replay" in answer["error"]
    (event_id, event_type, processed, attempts, error), = ledger(world.url)
    assert (event_id, event_type, processed, attempts) == (ev["id"], ev["type"], False, 1), \
        "stored, not applied, one attempt recorded"
    assert "\\u0000" in error
    with psycopg.connect(world.url) as conn:
        note = conn.execute("select payload #>> '{data,object,metadata,note}' from internal.stripe_events"
                            " where id = %s", (ev["id"],)).fetchone()[0]
    assert note == "before\ufffdafter", "what could be stored is: the NUL became U+FFFD"

    again = client.post(WEBHOOK, content=payload, headers=headers)
    assert (again.status_code, again.json()["outcome"], again.json()["attempts"]) == (200, "unstorable", 2), \
        "a redelivery is recorded too, and still not applied behind the operator's back"

    listed = run_cli("billing", "events", "--failed", "--json", env={"DATABASE_URL": world.url})
    assert listed.returncode == 0, listed.stderr
    assert [e["id"] for e in json.loads(listed.stdout)] == [ev["id"]], "`billing events --failed` shows it"
    replayed = run_cli("billing", "replay", ev["id"], env={"DATABASE_URL": world.url})
    assert replayed.returncode == 0, replayed.stderr
    assert ledger(world.url)[0][2] is True, "the operator's replay applies the stored copy"


def test_a_signed_event_with_an_unpaired_surrogate_is_stored_the_same_way(world, client):
    ev = event("customer.subscription.created", id="evt_1SUoSurJq8Kx2LmB2Surrog1")
    ev["data"]["object"]["metadata"]["note"] = "SURROGATE"
    payload = json.dumps(ev).replace('"SURROGATE"', '"\\ud800"').encode()  # a high surrogate with no low one
    response = client.post(WEBHOOK, content=payload, headers=signed_raw(payload))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "unstorable"
    assert ledger(world.url)[0][:3] == (ev["id"], ev["type"], False)


def test_a_signed_body_nested_100000_deep_is_refused_with_400(world, client):
    payload = b'{"id": "evt_1SUoDeepJq8Kx2LmB2Deep001", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post(WEBHOOK, content=payload, headers=signed_raw(payload))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "too_deeply_nested"
    assert ledger(world.url) == []


@pytest.mark.parametrize("event_id", ["evt_", "evt_1SUo-dash", "evt_\u00fcml"])
def test_a_signed_event_whose_id_the_ledger_cannot_key_is_refused_with_400(world, client, event_id):
    payload, headers = signed(event("customer.subscription.created", id=event_id))
    response = client.post(WEBHOOK, content=payload, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "not_an_event"), response.text
    assert ledger(world.url) == []


def test_a_signed_event_created_at_an_impossible_time_is_refused_with_400(world, client):
    payload, headers = signed(event("customer.subscription.created", created=10**30))
    response = client.post(WEBHOOK, content=payload, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "not_an_event"), response.text


def test_a_body_over_the_size_limit_is_refused_with_413_before_it_is_read(world):
    settings = edge_settings(world.url)
    settings = replace(settings, stripe=replace(settings.stripe, max_body_bytes=4096))
    big = event("customer.subscription.created")
    big["data"]["object"]["metadata"]["padding"] = "x" * 5000
    payload, headers = signed(big)
    with edge_client(settings) as client:
        declared = client.post(WEBHOOK, content=payload, headers=headers)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
            for start in range(0, len(payload), 1000):
                yield payload[start:start + 1000]

        streamed = client.post(WEBHOOK, content=chunks(), headers=headers)
        small, small_headers = signed(event("customer.subscription.created"))
        fits = client.post(WEBHOOK, content=small, headers=small_headers)
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "payload_too_large"
    assert fits.status_code == 200
    assert [row[0] for row in ledger(world.url)] == [event("customer.subscription.created")["id"]]


@contextlib.contextmanager
def served(settings) -> Iterator[int]:
    """The edge app under uvicorn on a free port, in a thread; yields the port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="info",
                                           lifespan="on", access_log=False))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(15)


def start_request(port: int, declared: int, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"POST {WEBHOOK} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                 f"stripe-signature: t=1,v1=00\r\ncontent-length: {declared}\r\n\r\n".encode() + body)
    return sock


def test_a_client_holding_its_body_open_is_answered_408_after_the_read_timeout(world):
    settings = edge_settings(world.url)
    settings = replace(settings, stripe=replace(settings.stripe, body_timeout_s=0.5))
    with served(settings) as port:
        sock = start_request(port, 1000, b'{"id": "evt_')
        began = time.monotonic()
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):  # the server answers, then closes the connection
                answer += chunk
        took = time.monotonic() - began
        sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"code":"body_timeout"' in answer
    assert took < 5, f"the slot was freed after the read timeout, not after {took:.1f} s"


def test_an_aborted_body_is_one_warning_line_and_no_error_traceback(world, caplog):
    caplog.set_level(logging.INFO)
    with served(edge_settings(world.url)) as port:
        sock = start_request(port, 1000, b'{"id": "evt_')
        sock.close()
        deadline = time.monotonic() + 10
        while not any("aborted" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.02)
    ours = [r for r in caplog.records if "aborted" in r.getMessage()]
    assert len(ours) == 1 and ours[0].levelno == logging.WARNING and ours[0].exc_info is None
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == [], "no ERROR, no traceback"
    assert ledger(world.url) == []
