"""The gunicorn settings flightbook serves with, besides the ones the CLI passes."""
import os

import pytest

from flightbook.kernel.server import SHARED_MEMORY, GunicornServer


@pytest.mark.skipif(not os.access(SHARED_MEMORY, os.W_OK), reason="no writable /dev/shm here")
def test_workers_keep_their_heartbeat_file_in_shared_memory():
    assert GunicornServer(lambda: None, {"workers": 3}).cfg.worker_tmp_dir == SHARED_MEMORY


def test_an_option_given_still_wins():
    assert GunicornServer(lambda: None, {"worker_tmp_dir": "/tmp"}).cfg.worker_tmp_dir == "/tmp"
