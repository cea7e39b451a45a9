"""Benchmark of the local Auth API (functions_py/auth) behind the gateway, at concurrency 16:

- token refresh (`POST /auth/v1/token?grant_type=refresh_token`, each sender rotating its own session's token):
  target >= 500/s;
- `GET /auth/v1/user` with a user's access token: target >= 1,500/s;
- password sign-in (`POST /auth/v1/token?grant_type=password`), reported next to the bcrypt floor measured in the
  same run: cost-10 `checkpw` on as many threads as there are cores, which no bcrypt-based sign-in can beat;
  target: sign-in throughput within 1.2x of that floor.

The gateway runs in its own process (uvicorn, as `supakit serve` runs it) against a throwaway embedded cluster,
with the rate limits off (GoTrue's defaults would stop a benchmark at 150 refreshes per 5 minutes). The load comes
from a lean HTTP/1.1 client on asyncio streams (one kept-alive connection per sender).

    python bench/auth.py                 # full size
    python bench/auth.py --scale 0.05    # a smoke run (do not run full size on a shared machine)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from common import ROOT, migrated_cluster

CONCURRENCY = 16
TARGETS = {"refresh": 500.0, "user": 1500.0}
SIGN_IN_FLOOR_RATIO = 1.2
PASSWORD = "bench-password-1"

SERVE = """
import sys, uvicorn
from pathlib import Path
from functions_py.config import Settings
from functions_py.http import gateway
from functions_py.http.app import EdgeSettings
from functions_py.tokens import TokenSettings, LOCAL_JWT_SECRET
url, port, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
limits = {f"auth.rate_limit_{k}": 0 for k in ("email_sent", "sign_in_sign_ups", "token_refresh",
          "token_verifications", "anonymous_users")}
settings = Settings.load(project_dir=Path(sys.argv[4]), data_dir=Path(data), environ={}).replace(
    **{"api.port": port, "api.pool_size": 16, **limits})
edge = EdgeSettings(database_url=url, tokens=TokenSettings(secret=LOCAL_JWT_SECRET), pool_size=2)
app = gateway.build(settings, url, edge=edge)
options = getattr(gateway, "uvicorn_options", dict)()  # the gateway's own server options, where it has them
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", loop="uvloop", **{"http": "httptools", **options})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def exchange(reader, writer, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


def request(method: str, path: str, port: int, anon: str, body: dict | None = None, token: str | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} /auth/v1{path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\napikey: {anon}\r\n"
            f"x-supabase-api-version: 2024-01-01\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n")
    if token:
        head += f"authorization: Bearer {token}\r\n"
    return (head + "\r\n").encode() + payload


async def run_load(port: int, count: int, make, on_answer) -> float:
    """Send `count` requests from CONCURRENCY senders; `make(i)` builds one for sender i, `on_answer(i, body)`
    reads its answer. Returns requests per second."""
    remaining = [count]
    failures: list[str] = []

    async def sender(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                status, body = await exchange(reader, writer, make(i))
                if status != 200:
                    failures.append(f"{status} {body[:200]!r}")
                    return
                on_answer(i, body)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender(i) for i in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, first: {failures[0]}")
    return count / elapsed


def bcrypt_floor(count: int) -> float:
    """Cost-10 bcrypt verifications per second on one thread per core (what sign-in cannot beat)."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10))
    threads = os.cpu_count() or 1
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: bcrypt.checkpw(PASSWORD.encode(), hashed), range(count)))
    return count / (time.perf_counter() - started)


async def bench(port: int, anon: str, scale: float) -> dict[str, float]:
    n_refresh, n_user, n_signin = max(32, int(10000 * scale)), max(32, int(30000 * scale)), max(16, int(400 * scale))
    sessions: list[dict] = []
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(CONCURRENCY):
        email = f"bench{i}@example.com"
        status, body = await exchange(reader, writer, request("POST", "/signup", port, anon,
                                                              {"email": email, "password": PASSWORD}))
        assert status == 200, body
        sessions.append(json.loads(body))
    writer.close()
    tokens = [s["refresh_token"] for s in sessions]

    def refreshed(i: int, body: bytes) -> None:
        tokens[i] = json.loads(body)["refresh_token"]

    results = {"refresh": await run_load(port, n_refresh, lambda i: request(
        "POST", "/token?grant_type=refresh_token", port, anon, {"refresh_token": tokens[i]}), refreshed)}
    access = [s["access_token"] for s in sessions]
    results["user"] = await run_load(port, n_user, lambda i: request("GET", "/user", port, anon, token=access[i]),
                                     lambda i, body: None)
    results["signin"] = await run_load(port, n_signin, lambda i: request(
        "POST", "/token?grant_type=password", port, anon, {"email": f"bench{i}@example.com", "password": PASSWORD}),
        lambda i, body: None)
    results["bcrypt_floor"] = bcrypt_floor(n_signin)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full request counts")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from functions_py.tokens import LOCAL_JWT_SECRET, api_key

    anon = api_key("anon", LOCAL_JWT_SECRET)
    with migrated_cluster("auth") as cluster:
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVE, cluster.url, str(port), str(cluster.scratch),
                                   str(ROOT)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the gateway did not start") from None
                    time.sleep(0.1)
            results = asyncio.run(bench(port, anon, args.scale))
        finally:
            server.terminate()
            server.wait(timeout=10)
    ok = True
    for name, target in TARGETS.items():
        passed = results[name] >= target
        ok &= passed
        print(f"{name:>8}: {results[name]:8.0f}/s  (target >= {target:.0f}/s)  {'pass' if passed else 'MISS'}")
    ratio = results["bcrypt_floor"] / results["signin"]
    passed = ratio <= SIGN_IN_FLOOR_RATIO
    ok &= passed
    print(f"  signin: {results['signin']:8.1f}/s  bcrypt floor {results['bcrypt_floor']:.1f}/s  "
          f"ratio {ratio:.2f}x (target <= {SIGN_IN_FLOOR_RATIO}x)  {'pass' if passed else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
