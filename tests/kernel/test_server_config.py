"""The gunicorn settings flightbook serves with, besides the ones the CLI passes."""
import os

import pytest

from flightbook.kernel.server import SHARED_MEMORY, GunicornServer


@pytest.mark.skipif(not os.access(SHARED_MEMORY, os.W_OK), reason="no writable /dev/shm here")
def test_workers_keep_their_heartbeat_file_in_shared_memory():
    assert GunicornServer(lambda: None, {"workers": 3}).cfg.worker_tmp_dir == SHARED_MEMORY


def test_an_option_given_still_wins():
    assert GunicornServer(lambda: None, {"worker_tmp_dir": "/tmp"}).cfg.worker_tmp_dir == "/tmp"


SERVE = """
import os, sys, threading
import falcon
from flightbook.kernel.server import GunicornServer

class Echo:
    def on_get(self, req, resp, rest=""):
        resp.media = {"path": req.path, "thread": threading.get_ident()}

    def on_post(self, req, resp, rest=""):
        resp.media = {"path": req.path, "got": req.get_media()}

def app():
    application = falcon.App()
    application.add_route("/{rest}", Echo())
    return application

GunicornServer(app, {"bind": "127.0.0.1:" + sys.argv[1], "workers": 1, "threads": 2}).run()
"""


@pytest.fixture
def served(tmp_path):
    import subprocess
    import sys
    import time

    import requests

    from tests.servers import free_port

    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(url + "/up", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url, port, tmp_path / "server.log"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_a_threaded_server_answers_requests_in_turn_on_kept_alive_connections_more_than_its_threads(served):
    import requests

    url, _, log = served
    sessions = [requests.Session() for _ in range(5)]  # more connections than the worker's two threads
    for i in range(40):
        answer = sessions[i % 5].post(f"{url}/n{i}", json={"i": i}, timeout=10)
        assert answer.status_code == 200 and answer.json() == {"path": f"/n{i}", "got": {"i": i}}
    assert b"LingeringThreadWorker" in log.read_bytes()


def test_pipelined_requests_and_a_client_gone_between_requests_are_answered_or_closed(served):
    import socket

    import requests

    url, port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.count(b"HTTP/1.1 200") == 2 and b'"/a"' in received and b'"/b"' in received
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    assert requests.get(url + "/d", timeout=10).json()["path"] == "/d"
