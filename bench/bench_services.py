"""End-to-end booking latency through the gateway, one process vs four services, and search requests/s
through the gateway.

    python bench/bench_services.py [--bookings 100] [--clients 4] [--seconds 10]

Each deployment is started for real (gunicorn; one process, and four processes as the Procfile does),
both on three PostgreSQL databases and seeded with the sample schedule. A booking is: search, book one
passenger, create the intent, pay with the test card, read the ticket back — all through /api/gateway.
Bookings are measured with one traveller at a time (latency alone) and with --clients travellers at once
(latency under load). Prints p50/p99 and each step's p50 per mode and load, the four/one ratios (target
<= 1.5) and gateway search requests/s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.deployments import Deployment  # noqa: E402

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": dt.date.today().year + 2, "cvc": "123",
        "holder_name": "Bench Mark"}
CANDIDATE_ROUTES = [("LHR", "JFK"), ("JFK", "LHR"), ("CDG", "JFK"), ("FRA", "JFK"), ("LHR", "CDG"), ("JFK", "LAX"),
                    ("LAX", "JFK"), ("CDG", "LHR"), ("DXB", "LHR"), ("SIN", "HND"), ("ATL", "ORD"), ("ORD", "ATL")]
TRIPS: list[tuple[str, str, str]] = []  # (origin, destination, date) with flights, found at start


def traveller(api: str) -> requests.Session:
    http = requests.Session()
    name = f"b{uuid.uuid4().hex[:12]}"
    http.post(api + "/users/register", json={"username": name, "email": f"{name}@example.com",
                                             "password": "bench-password", "first_name": "B",
                                             "last_name": "M"}, timeout=30).raise_for_status()
    login = http.post(api + "/users/login", json={"username": name, "password": "bench-password"}, timeout=30)
    login.raise_for_status()
    http.headers["Authorization"] = f"Bearer {login.json()['token']}"
    return http


def find_trips(api: str) -> None:
    """The candidate routes and days the sample schedule actually flies."""
    for origin, destination in CANDIDATE_ROUTES:
        for days in (2, 3, 4):
            date = (dt.date.today() + dt.timedelta(days=days)).isoformat()
            found = requests.get(api + "/flights/search", params={"origin": origin, "destination": destination,
                                                                  "date": date}, timeout=30).json()
            if found.get("outbound"):
                TRIPS.append((origin, destination, date))


STEPS = ("search", "book", "create-intent", "pay", "ticket")


def one_booking(http: requests.Session, api: str, i: int, steps: dict | None = None) -> float:
    """One whole booking; the time of each step is added to ``steps`` (step -> list of seconds)."""
    origin, destination, date = TRIPS[i % len(TRIPS)]
    started = last = time.perf_counter()

    def step(name, response):
        nonlocal last
        response.raise_for_status()
        now = time.perf_counter()
        if steps is not None:
            steps.setdefault(name, []).append(now - last)
        last = now
        return response.json()

    found = step("search", http.get(api + "/flights/search", params={"origin": origin, "destination": destination,
                                                                     "date": date}, timeout=30))
    flight = found["outbound"][0]
    booking = step("book", http.post(api + "/flights/book", json={
        "outbound_flight_id": flight["id"], "cabin": "economy", "contact_email": "b@example.com",
        "passengers": [{"first_name": "Bench", "last_name": "Mark", "date_of_birth": "1990-01-01"}]}, timeout=30))
    ref = booking["ref"]
    intent = step("create-intent", http.post(api + "/payments/create-intent", json={"booking_ref": ref}, timeout=30))
    step("pay", http.post(api + "/payments/process", json={"intent_id": intent["id"], "card": CARD},
                          headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=30))
    ticket = step("ticket", http.get(api + f"/tickets/{ref}", timeout=30))
    assert ticket["status"] == "CONFIRMED", ticket
    return time.perf_counter() - started


def measure_bookings(api: str, bookings: int, clients: int, steps: dict | None = None) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(bookings))

    def client():
        http = traveller(api)
        for i in counter:
            mine: dict = {}
            took = one_booking(http, api, i, mine)
            with lock:
                latencies.append(took)
                for name, values in mine.items():
                    (steps if steps is not None else {}).setdefault(name, []).extend(values)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def measure_search(api: str, seconds: float, clients: int) -> float:
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(k):
        http = requests.Session()
        while time.monotonic() < stop:
            origin, destination, date = TRIPS[(k + done[k]) % len(TRIPS)]
            http.get(api + "/flights/search", params={"origin": origin, "destination": destination, "date": date},
                     timeout=30).raise_for_status()
            done[k] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100, help="bookings per load")
    parser.add_argument("--clients", type=int, default=4, help="concurrent travellers of the loaded run")
    parser.add_argument("--seconds", type=float, default=10, help="length of the search run")
    args = parser.parse_args()
    loads = (1, args.clients) if args.clients != 1 else (1,)
    results: dict = {}
    for mode in ("one_process", "four_services"):
        with tempfile.TemporaryDirectory() as folder:
            # both on PostgreSQL, so the ratio measures the deployment, not the database
            deployment = Deployment(mode, Path(folder), "bench_services", backend="postgres").start()
            try:
                api = deployment.url + "/api/gateway"
                TRIPS.clear()
                find_trips(api)
                measure_bookings(api, 10, 1)  # warm-up
                for clients in loads:
                    steps: dict = {}
                    latencies = measure_bookings(api, args.bookings, clients, steps)
                    results[mode, clients] = (statistics.median(latencies) * 1000, pct(latencies, 0.99),
                                              {k: statistics.median(v) * 1000 for k, v in steps.items()})
                search = measure_search(api, args.seconds, args.clients)
            finally:
                deployment.stop()
        for clients in loads:
            p50, p99, steps = results[mode, clients]
            print(f"{mode:14s} {clients} client(s): booking p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                  f"(steps p50: {', '.join(f'{k} {steps[k]:.1f}' for k in STEPS)} ms; {args.bookings} bookings)")
        print(f"{mode:14s} gateway search {search:6.1f} req/s ({args.clients} clients)")
    for clients in loads:
        one, four = results["one_process", clients], results["four_services", clients]
        print(f"ratio four/one, {clients} client(s): p50 {four[0] / one[0]:.2f}  p99 {four[1] / one[1]:.2f}  "
              f"(target p50 <= 1.5)")


if __name__ == "__main__":
    main()
