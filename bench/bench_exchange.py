"""The signer's HTTPS token exchange (RFC 8693, `--listen`): how fast attested jobs are served.

- throughput: exchanges per second from one `injector signer` process pinned to one core
  (keep-alive HTTPS, one audience per request, the subject token verified every time against the
  stand-in GitHub's key), against raw `cryptography` RS256 signing with the same key on that
  core in the same run; the client (wrk) on the other cores;
- latency: p50 / p99 of one exchange with 64 clients asking at once (each its own keep-alive
  connection, wrk).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.parse
from pathlib import Path

import signer_clients
import trustme
from bench_signer import SECONDS, _raw_rate

from tests.standins.platforms import AUDIENCE, PlatformIssuer, github_table
from tests.support import signer as support

CONNECTIONS = 8
LATENCY_CLIENTS = 64
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def _script(folder: Path, token: str) -> Path:
    """wrk's request: POST /token with the form (wrk does not verify the certificate; the
    answers' status is checked from its count of non-2xx responses)."""
    form = urllib.parse.urlencode(
        {
            "grant_type": GRANT,
            "subject_token": token,
            "subject_token_type": JWT_TYPE,
            "audience": "aws.workload.identity",
        }
    )
    script = folder / "exchange.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(form)}\n"
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
    )
    return script


def _wrk(url: str, script: Path, connections: int) -> tuple[float, float, float]:
    """(requests per second, p50 seconds, p99 seconds) of `connections` keep-alive clients."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: run `bash scripts/system-packages` as root")
    output = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{int(SECONDS)}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=SECONDS + 60,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    if not (rate and p50 and p99):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    failures = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.findall(r"(?:connect|read|write|timeout) (\d+)", output)
    if failures or any(int(n) for n in errors):
        raise RuntimeError(f"exchanges failed:\n{output}")
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
    return (
        float(rate.group(1)),
        float(p50.group(1)) * units[p50.group(2)],
        float(p99.group(1)) * units[p99.group(2)],
    )


def run() -> list[str]:
    cores = sorted(os.sched_getaffinity(0))
    signer_core = cores[0]
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    folder = support.shared_folder()
    try:
        ca_file, certfile, keyfile = folder / "ca.pem", folder / "tls.pem", folder / "tls.key"
        ca.cert_pem.write_to_path(str(ca_file))
        certfile.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(keyfile))
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(server_tls)
        github = PlatformIssuer(server_tls)
        try:
            (folder / "policy.toml").write_text(
                github_table(github.url, ca_file, "rate_per_minute = 1000000")
                + """[[allow]]
attestation = "github"
subjects = ["organization:acme:workspace:*"]
"""
            )
            key = support.make_key(folder)
            signer, base = support.start_https_signer(
                support.signer_env(key), folder, certfile, keyfile
            )
            try:
                url = base + "/token"
                # A token good for the whole run (GitHub's live 5 minutes; this one 10).
                script = _script(folder, github.github(AUDIENCE, exp=int(time.time()) + 600))
                os.sched_setaffinity(signer.process.pid, {signer_core})
                os.sched_setaffinity(0, set(cores[1:]) or set(cores))
                before = signer_clients.cpu_seconds(signer.process.pid)
                began = time.perf_counter()
                rate, _, _ = _wrk(url, script, CONNECTIONS)
                busy = (signer_clients.cpu_seconds(signer.process.pid) - before) / (
                    time.perf_counter() - began
                )
                raw = _raw_rate(key, signer_core)
                os.sched_setaffinity(signer.process.pid, set(cores))
                os.sched_setaffinity(0, set(cores))
                _, p50, p99 = _wrk(url, script, LATENCY_CLIENTS)
            finally:
                signer.stop()
        finally:
            github.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [
        f"throughput     HTTPS exchange {rate:7.0f} tokens/s on one core (wrk, keep-alive, "
        f"{CONNECTIONS} connections, subject token verified each time), raw cryptography "
        f"sign {raw:7.0f}/s, ratio {rate / raw:.2f}  (goal >= 0.6)",
        f"               signer used {busy:.0%} of its core",
        f"latency        {LATENCY_CLIENTS} concurrent clients: p50 {p50 * 1e3:.1f} ms, "
        f"p99 {p99 * 1e3:.1f} ms",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
