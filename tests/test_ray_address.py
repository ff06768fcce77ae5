"""A --ray-address where no Ray answers is refused in seconds, whatever listens there; `ray://`
needs Ray's client, and says how to install it (issue 18, finding 14)."""

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openvsclosed.cli import app
from openvsclosed.executors.ray_address import RayUnavailable, check_reachable
from tests.bad_server import bad_server, silent_listener
from tests.conftest import _required
from tests.katan import free_port


def refused_within(address, seconds):
    started = time.monotonic()
    with pytest.raises(RayUnavailable) as info:
        check_reachable(address, timeout_s=2.0)
    assert time.monotonic() - started < seconds
    message = str(info.value)
    assert "\n" not in message and "allowed:" in message
    return message


def test_a_port_where_something_else_listens_is_refused_in_seconds():
    with silent_listener() as port:
        assert "sent nothing in 2 s" in refused_within(f"127.0.0.1:{port}", 5)
        assert "sent nothing" in refused_within(f"ray://127.0.0.1:{port}", 5)
    with bad_server("ok") as (url, _):
        assert "not in Ray's protocol" in refused_within(url.removeprefix("http://"), 5)
    assert "nothing answers" in refused_within(f"127.0.0.1:{free_port()}", 5)
    assert "is not an address" in refused_within("127.0.0.1:99999", 1)


@pytest.mark.slow
def test_ray_client_addresses_need_the_client_and_say_how_to_install_it(monkeypatch, tmp_path,
                                                                        toy_mirror):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "grpc" else real(name, *a))
    message = refused_within("ray://127.0.0.1:10001", 1)
    assert "pip install 'ray[client]'" in message
    if real("ray") is None:
        return
    config = tmp_path / "toy.yaml"
    config.write_text(f"name: toy\nresults_dir: {tmp_path / 'r'}\ndata_dir: {toy_mirror}\n"
                      f"task_paths: [{os.path.dirname(__file__)}/fixtures/tasks]\n"
                      "models: [{id: fake-a, backend: fake}]\ntasks: [ovc_toy_mc]\n")
    result = CliRunner().invoke(app, ["run", str(config), "--executor", "ray", "--ray-address",
                                      "ray://127.0.0.1:10001"], catch_exceptions=False)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "pip install 'ray[client]'" in text  # not "ray"


@pytest.mark.slow
def test_a_real_ray_head_and_its_client_server_pass_the_probe():
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("grpc") is None:
        _required("Ray with its client (pip install -e '.[ray]')")
    ray_bin = shutil.which("ray", path=os.path.dirname(sys.executable))
    gcs, client = free_port(), free_port()
    temp = Path(tempfile.mkdtemp(prefix="ovr", dir="/tmp"))  # Ray's sockets: under 108 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_TMPDIR": str(temp)}
    # --block in a session of its own: the head and its children stop with that group only
    # (`ray stop` would stop every Ray on the machine)
    head = subprocess.Popen([ray_bin, "start", "--head", "--block", f"--port={gcs}",
                             "--num-cpus=1", f"--ray-client-server-port={client}",
                             "--include-dashboard=false", f"--temp-dir={temp}",
                             "--disable-usage-stats"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for address in (f"127.0.0.1:{gcs}", f"ray://127.0.0.1:{client}"):
            deadline = time.monotonic() + 120  # the head starts, then its client server
            while True:
                try:
                    check_reachable(address, timeout_s=2.0)
                    break
                except RayUnavailable:
                    assert head.poll() is None, "ray start --head exited"
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=30)
        time.sleep(2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # anything of the group still there
        shutil.rmtree(temp, ignore_errors=True)
