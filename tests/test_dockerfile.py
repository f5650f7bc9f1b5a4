"""The Dockerfile gives an image whose ``flightbook serve`` is ready: built and run where a Docker engine is
reachable, and everywhere else the nearest check, the files its COPY lines name installed by its own pip
command into a fresh virtualenv, migrated and served."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.servers import ROOT, free_port

pytestmark = pytest.mark.slow
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) for each instruction, continuation lines joined, comments dropped."""
    found = []
    for line in DOCKERFILE.read_text().replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def words(arguments: str) -> list[str]:
    """An instruction's arguments in either of Docker's forms, JSON array or shell words; flags dropped."""
    split = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
    return [word for word in split if not word.startswith("--")]


def one(keyword: str) -> str:
    [arguments] = [a for k, a in instructions() if k == keyword]
    return arguments


def copy_as_docker_does(app: Path) -> list[str]:
    """Copies what each COPY names from the repository into ``app`` (the image's WORKDIR) with Docker's rules:
    a directory's contents go into the destination; files go into it when it ends in / or there are several."""
    copied = []
    for keyword, arguments in instructions():
        if keyword != "COPY":
            continue
        *sources, destination = words(arguments)
        target = app / destination
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(path, target, dirs_exist_ok=True)
            elif destination.endswith("/") or len(sources) > 1:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / path.name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            copied.append(source)
    return copied


def pip_commands() -> list[list[str]]:
    """The ``pip ...`` parts of the RUN lines; the rest (a user, its home) is the image's own business."""
    commands = []
    for keyword, arguments in instructions():
        if keyword == "RUN":
            commands += [shlex.split(part) for part in arguments.split("&&") if part.split()[:1] == ["pip"]]
    return commands


def image_env() -> dict:
    env = {}
    for keyword, arguments in instructions():
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arguments))
    return env


def wait_until_ready(url: str, process: subprocess.Popen | None = None, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process is None or process.poll() is None, "the server exited before it was ready"
        try:
            return requests.get(url + "/ready", timeout=2).status_code
        except requests.ConnectionError:
            time.sleep(0.3)
    raise AssertionError(f"{url}/ready did not answer within {timeout} s")


def assert_serves_its_migrated_tables(url: str) -> None:
    """/ready only says the databases answer; the tiers come from the migrations the image must carry."""
    tiers = requests.get(url + "/api/loyalty/tiers", timeout=10)
    assert tiers.status_code == 200 and [t["name"] for t in tiers.json()["tiers"]][0] == "Blue", tiers.text


def docker_engine_missing() -> str | None:
    if not shutil.which("docker"):
        return "no docker client"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode == 0:
        return None
    return (info.stderr.strip().splitlines() or ["docker info failed"])[-1]


def test_the_image_builds_and_its_serve_is_ready():
    missing = docker_engine_missing()
    if missing:
        pytest.skip(f"no Docker engine reachable ({missing}); "
                    "test_the_dockerfile_installs_and_serves_in_a_fresh_venv is the nearest check here")
    tag = f"flightbook-test:{os.getpid()}"
    subprocess.run(["docker", "build", "-q", "-t", tag, str(ROOT)], check=True, capture_output=True, timeout=1800)
    port = free_port()
    try:
        container = subprocess.run(["docker", "run", "-d", "-p", f"127.0.0.1:{port}:8000", tag], check=True,
                                   capture_output=True, text=True, timeout=120).stdout.strip()
        try:
            assert wait_until_ready(f"http://127.0.0.1:{port}") == 200
            assert_serves_its_migrated_tables(f"http://127.0.0.1:{port}")
        finally:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, timeout=120)
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)


def test_the_dockerfile_installs_and_serves_in_a_fresh_venv(tmp_path):
    app = tmp_path / "app"
    copy_as_docker_does(app)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLIGHTBOOK_", "PYTEST_", "VIRTUAL_ENV"))}
    env.update(image_env(), FLIGHTBOOK_HOME=str(tmp_path / "home"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    for pip, *arguments in pip_commands():
        # --no-cache-dir keeps the image small; here pip's cache saves downloading every wheel again.
        arguments = [a for a in arguments if a != "--no-cache-dir"]
        installed = subprocess.run([str(venv / "bin" / "python"), "-m", pip, *arguments], cwd=app, env=env,
                                   capture_output=True, text=True, timeout=900)
        assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    flightbook = [str(venv / "bin" / words(one("ENTRYPOINT"))[0])]
    for step in (["migrate"], ["import-airports"]):  # the second reads the data/ the image carries
        done = subprocess.run(flightbook + step, cwd=app, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr

    command = json.loads(one("CMD"))
    command[command.index("--host") + 1] = "127.0.0.1"  # the image listens on every interface; a test only here
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen(flightbook + command + ["--port", str(port)], cwd=app, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_until_ready(url, server) == 200, (tmp_path / "serve.log").read_text()
        assert_serves_its_migrated_tables(url)
        places = requests.get(url + "/api/places/search", params={"q": "LHR"}, timeout=10).json()["places"]
        assert places[0]["iata"] == "LHR"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
