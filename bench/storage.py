"""Storage API throughput and footprint (`python bench/storage.py`), against `supakit serve` in its own process.

Targets (issue 16), printed next to a plain file copy of the same bytes as the floor (transfers go over a plain
socket, so the figure is the server's, not the Python HTTP client's):
- upload and download of one 100 MB object on loopback: each at least 200 MB/s;
- the server's RSS grows by less than 50 MB while 1 GB streams through it (uploads and downloads);
- listing a folder of 10,000 objects (`POST /object/list`, 100 entries a page): p50 under 20 ms.
Exit 1 on a miss. BENCH_STORAGE_MB and BENCH_STORAGE_TOTAL_MB scale the object and the streamed total down for a
quick run on a busy machine (the targets are then only indicative).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
from common import ROOT, migrated_cluster

from functions_py.embedded import free_port
from functions_py.tokens import LOCAL_JWT_SECRET, api_key

MB = 1024 * 1024
OBJECT_MB = int(os.environ.get("BENCH_STORAGE_MB", "100"))
TOTAL_MB = int(os.environ.get("BENCH_STORAGE_TOTAL_MB", "1024"))
LIST_OBJECTS = int(os.environ.get("BENCH_STORAGE_LIST_OBJECTS", "10000"))
LIST_ROUNDS = 50
TARGET_MB_S = 200.0
TARGET_RSS_MB = 50.0
TARGET_LIST_MS = 20.0
CHUNK = MB
SERVICE_KEY = api_key("service_role", LOCAL_JWT_SECRET)
HEADERS = {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}
BUCKET = "bench"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples a process's RSS every 20 ms on a thread and keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, rss_mb(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def payload(size_mb: int):
    block = os.urandom(CHUNK)
    for _ in range(size_mb):
        yield block


def _raw_request(base: str, head: str, body_mb: int = 0) -> tuple[int, int]:
    """One HTTP/1.1 request over a plain socket (so the client's own cost stays out of the figure): the status and
    the number of body bytes received."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head.encode())
        block = os.urandom(CHUNK) if body_mb else b""
        for _ in range(body_mb):
            sock.sendall(block)
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        header = b""
        while b"\r\n\r\n" not in header:
            got = sock.recv(65536)
            if not got:
                raise RuntimeError("connection closed before the response")
            header += got
        raw_head, _, rest = header.partition(b"\r\n\r\n")
        status = int(raw_head.split(b" ", 2)[1])
        length = 0
        for line in raw_head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        received = len(rest)
        while received < length:
            got = sock.recv_into(view)
            if not got:
                break
            received += got
        return status, received


def _head(method: str, path: str, extra: str = "") -> str:
    return (f"{method} {path} HTTP/1.1\r\nHost: bench\r\napikey: {SERVICE_KEY}\r\n"
            f"Authorization: Bearer {SERVICE_KEY}\r\nConnection: close\r\n{extra}\r\n")


def upload(base: str, key: str, size_mb: int) -> float:
    started = time.perf_counter()
    status, _ = _raw_request(base, _head("POST", f"/storage/v1/object/{BUCKET}/{key}",
                                         f"Content-Type: application/octet-stream\r\nx-upsert: true\r\n"
                                         f"Content-Length: {size_mb * MB}\r\n"), size_mb)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"upload failed: {status}")
    return size_mb / elapsed


def download(base: str, key: str) -> float:
    started = time.perf_counter()
    status, received = _raw_request(base, _head("GET", f"/storage/v1/object/{BUCKET}/{key}"))
    if status != 200:
        raise RuntimeError(f"download failed: {status}")
    return received / MB / (time.perf_counter() - started)


def file_copy_floor(scratch: Path, size_mb: int) -> float:
    source, target = scratch / "floor.src", scratch / "floor.dst"
    with open(source, "wb") as handle:
        for block in payload(size_mb):
            handle.write(block)
    started = time.perf_counter()
    shutil.copyfile(source, target)
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())
    rate = size_mb / (time.perf_counter() - started)
    source.unlink()
    target.unlink()
    return rate


def seed_listing(url: str, count: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("insert into storage.objects (bucket_id, name, owner_id, metadata, version)"
                     " select %s, 'folder/' || lpad(i::text, 6, '0') || '.txt', null,"
                     " jsonb_build_object('size', 1, 'mimetype', 'text/plain'), gen_random_uuid()::text"
                     " from generate_series(1, %s) as i", (BUCKET, count))
        conn.commit()


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"supakit serve exited with {process.returncode}") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("supakit serve did not listen")


def main() -> int:
    failures: list[str] = []
    with migrated_cluster("storage") as cluster:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": cluster.url, "SUPAKIT_DATA_DIR": str(cluster.scratch / "data"),
               "SUPAKIT_STORAGE_FILE_SIZE_LIMIT": str(max(OBJECT_MB, 1) * 2 * MB), "SUPAKIT_API_PORT": str(port)}
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=600) as client:
                created = client.post(f"{base}/storage/v1/bucket", headers=HEADERS, json={"name": BUCKET})
                if created.status_code != 200:
                    raise RuntimeError(f"bucket: {created.text}")
                floor = file_copy_floor(cluster.scratch, OBJECT_MB)
                upload(base, "warmup.bin", 4)
                download(base, "warmup.bin")
                up = statistics.median(upload(base, "big.bin", OBJECT_MB) for _ in range(3))
                down = statistics.median(download(base, "big.bin") for _ in range(3))
                print(f"{OBJECT_MB} MB object   floor (file copy) {floor:8.0f} MB/s")
                print(f"{'':16} upload            {up:8.0f} MB/s  ({up / floor:.2f} x floor; target >= "
                      f"{TARGET_MB_S:.0f})")
                print(f"{'':16} download          {down:8.0f} MB/s  ({down / floor:.2f} x floor; target >= "
                      f"{TARGET_MB_S:.0f})")
                if up < TARGET_MB_S:
                    failures.append(f"upload {up:.0f} MB/s < {TARGET_MB_S:.0f}")
                if down < TARGET_MB_S:
                    failures.append(f"download {down:.0f} MB/s < {TARGET_MB_S:.0f}")

                before = rss_mb(server.pid)
                streamed = 0
                with PeakRss(server.pid) as peak:
                    while streamed < TOTAL_MB:
                        upload(base, "stream.bin", OBJECT_MB)
                        download(base, "stream.bin")
                        streamed += 2 * OBJECT_MB
                growth = peak.peak - before
                print(f"RSS while {streamed} MB streamed: {before:.0f} MB before, peak {peak.peak:.0f} MB "
                      f"(+{growth:.0f} MB; target < {TARGET_RSS_MB:.0f})")
                if growth >= TARGET_RSS_MB:
                    failures.append(f"RSS grew {growth:.0f} MB")

                seed_listing(cluster.url, LIST_OBJECTS)
                body = {"prefix": "folder/", "limit": 100, "offset": 0, "sortBy": {"column": "name", "order": "asc"}}
                def page_times(offset_of) -> list[float]:
                    timings = []
                    for round_ in range(LIST_ROUNDS + 5):
                        started = time.perf_counter()
                        answer = client.post(f"{base}/storage/v1/object/list/{BUCKET}", headers=HEADERS,
                                             json={**body, "offset": offset_of(round_)})
                        if round_ >= 5:
                            timings.append((time.perf_counter() - started) * 1000)
                        if answer.status_code != 200 or len(answer.json()) != min(100, LIST_OBJECTS):
                            raise RuntimeError(f"list: {answer.status_code} {answer.text[:200]}")
                    return timings

                timings = page_times(lambda _: 0)
                deep = page_times(lambda round_: (round_ * 100) % LIST_OBJECTS)
                p50 = statistics.median(timings)
                print(f"list a folder of {LIST_OBJECTS} objects (first page of 100): p50 {p50:.1f} ms, "
                      f"max {max(timings):.1f} ms (target p50 < {TARGET_LIST_MS:.0f}); pages at offsets 0..."
                      f"{LIST_OBJECTS - 100}: p50 {statistics.median(deep):.1f} ms (offsets are walked, as in "
                      f"Storage)")
                if p50 >= TARGET_LIST_MS:
                    failures.append(f"list p50 {p50:.1f} ms")
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    for failure in failures:
        print(f"MISS: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
