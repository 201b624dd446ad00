"""The signer: how fast it mints, and what a job pays to mint through it.

Every figure is a ratio against a peer measured in the same run:
- throughput: tokens per second from one `injector signer` process pinned to one core (the
  client, one thread keeping requests in flight, on the other cores; one audience per request),
  against raw `cryptography` RS256 signing of a token's bytes with the same key in this process
  on that core; with the share of its core the signer used, to show it was the one saturated;
- latency: p50 / p99 of one request with 64 clients asking at once;
- `injector env` (AWS, Azure and GCP) through the signer, against `injector env` with the key
  file, and against a shell script minting the same three tokens with `openssl dgst -sign`;
- the Transit backend: tokens per second through a real `bao server -dev` Transit key against
  the key file backend, both unpinned (OpenBao needs a core of its own) and 3 audiences a request.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import signer_clients  # bench/ is on sys.path (bench/run.py)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from injector import clouds
from injector.config import job_context
from injector.job.example import EXAMPLE_ENV, JOB_EXAMPLE
from injector.signer import client, protocol
from tests.support import openbao
from tests.support import signer as support

SECONDS = 4.0
LATENCY_CLIENTS = 64
RUNS = 15
GCP_AUDIENCE = EXAMPLE_ENV["WORKLOAD_IDENTITY_AUDIENCE_GCP"]
# The workspace the script mints for: the example job with the three clouds whose SDKs log in
# themselves (the others need a Vault server or a cluster to log in to).
THREE_CLOUDS_ENV: dict[str, str] = {
    **JOB_EXAMPLE,
    **{k: v for name in ("aws", "azure", "gcp") for k, v in clouds.named(name).example.items()},
}
# What `injector env` with the three clouds asks for in its one request.
THREE_AUDIENCES = ("aws.workload.identity", "api://AzureADTokenExchange", GCP_AUDIENCE)

# The hand-written alternative: the same header and claims, signed by openssl, for 3 clouds.
SCRIPT = r"""
set -eu
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s); exp=$((now + 1800))
header=$(printf '{"kid":"%s","alg":"RS256","typ":"JWT"}' "$KID" | b64)
mkdir -p -m 0700 "$OUT"
for pair in "aws aws.workload.identity" "azure api://AzureADTokenExchange" "gcp $GCP"; do
  name=${pair%% *}; aud=${pair#* }
  jti=$(cat /proc/sys/kernel/random/uuid)
  claims='{"sub":"organization:%s:workspace:%s","aud":"%s","jti":"%s",'
  claims=$claims'"terrakube_workspace_id":"%s","terrakube_organization_id":"%s",'
  claims=$claims'"terrakube_job_id":"%s","iat":%d,"iss":"https://%s","exp":%d}'
  body=$(printf "$claims" "$organizationName" "$workspaceName" "$aud" "$jti" "$workspaceId" \
    "$organizationId" "$jobId" "$now" "$DynamicCredentialHostname" "$exp" | b64)
  sig=$(printf '%s.%s' "$header" "$body" | openssl dgst -sha256 -sign "$KEY" -binary | b64)
  (umask 077; printf '%s.%s.%s' "$header" "$body" "$sig" > "$OUT/$name.jwt")
done
echo "export AWS_WEB_IDENTITY_TOKEN_FILE=$OUT/aws.jwt"
"""


def _request() -> protocol.TokenRequest:
    return protocol.TokenRequest(job_context.from_env(EXAMPLE_ENV), ("aws.workload.identity",))


def _signer_rate(socket: Path, pid: int, audiences: int = 1) -> tuple[float, float]:
    """(tokens per second, share of one core the signer used) with IN_FLIGHT requests open,
    each for `audiences` tokens."""
    request = protocol.TokenRequest(
        job_context.from_env(EXAMPLE_ENV), THREE_AUDIENCES[:audiences]
    ).encoded()
    before = signer_clients.cpu_seconds(pid)
    done, elapsed = signer_clients.hammer(socket, request, SECONDS)
    return done * audiences / elapsed, (signer_clients.cpu_seconds(pid) - before) / elapsed


def _raw_rate(key_path: Path, core: int) -> float:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):  # the bench's key is RS256's
        raise TypeError(f"{key_path}: not an RSA private key")
    data = b"x" * 700  # about a token's signing input
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < SECONDS:
            key.sign(data, padding.PKCS1v15(), hashes.SHA256())
            count += 1
        return count / (time.perf_counter() - started)
    finally:
        os.sched_setaffinity(0, cores)


def _latency(socket: Path) -> tuple[float, float]:
    request, latencies, lock = _request(), [], threading.Lock()
    start = threading.Barrier(LATENCY_CLIENTS)

    def work() -> None:
        start.wait()
        for _ in range(10):
            began = time.perf_counter()
            client.request(socket, request, timeout=60, signer_uid=os.getuid())
            with lock:
                latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=work) for _ in range(LATENCY_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed: {result.stderr.decode()[-500:]}")
    return elapsed


def _env_comparison(folder: Path, key: Path, socket: Path) -> list[str]:
    base = {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        **THREE_CLOUDS_ENV,
    }
    job = {k: v for k, v in base.items() if not k.startswith("DynamicCredential")}
    # The signer and the job both run as root here: root is named as the signer's user.
    through = {
        **job,
        "DynamicCredentialSigner": f"unix:{socket}",
        "DynamicCredentialSignerUser": str(os.getuid()),
    }
    direct = {**base, "DynamicCredentialPrivateKeyPath": str(key)}
    script_env = {
        **base,
        "KEY": str(key),
        "KID": "03446895-220d-47e1-9564-4eeaa3691b42",
        "GCP": GCP_AUDIENCE,
    }
    times: dict[str, list[float]] = {"signer": [], "key": [], "script": []}
    for run in range(RUNS):
        out = folder / f"out-{run}"
        env_cmd = [sys.executable, "-m", "injector", "env", "--format", "json", "--dir"]
        times["signer"].append(_timed([*env_cmd, str(out / "s")], through))
        times["key"].append(_timed([*env_cmd, str(out / "k")], direct))
        times["script"].append(_timed(["sh", "-c", SCRIPT], {**script_env, "OUT": str(out / "o")}))
    signer, keyed, script = (statistics.median(times[name]) for name in ("signer", "key", "script"))
    return [
        f"injector env   through the signer median {signer * 1e3:7.1f} ms",
        f"               with the key file         {keyed * 1e3:7.1f} ms",
        f"               openssl shell script      {script * 1e3:7.1f} ms",
        f"               signer / script {signer / script:.2f}  (goal <= 1.0), "
        f"signer / key file {signer / keyed:.2f}   [{RUNS} runs each, alternated]",
    ]


def _transit_lines(
    folder: Path, env: dict[str, str], file_socket: Path, file_pid: int
) -> list[str]:
    bao = openbao.start(Path(tempfile.mkdtemp(dir=folder)))
    try:
        bao.ok("POST", "sys/mounts/transit", {"type": "transit"})
        bao.ok("POST", "transit/keys/bench", {"type": "rsa-2048"})
        token = folder / "transit.token"
        token.write_text(bao.root_token)
        token.chmod(0o600)
        transit_env = {k: v for k, v in env.items() if k != "DynamicCredentialPrivateKeyPath"} | {
            "DynamicCredentialTransitAddress": bao.address,
            "DynamicCredentialTransitKey": "bench",
            "DynamicCredentialTransitTokenFile": str(token),
            "DynamicCredentialTransitCaCert": str(bao.ca_file),
        }
        socket = folder / "transit.sock"
        signer = support.start_signer(transit_env, socket)
        try:
            rate, _ = _signer_rate(socket, signer.process.pid, audiences=3)
            file_rate, _ = _signer_rate(file_socket, file_pid, audiences=3)
        finally:
            signer.stop()
    finally:
        bao.stop()
    return [
        f"transit        signer through OpenBao Transit {rate:7.0f} tokens/s, key file backend "
        f"{file_rate:7.0f}/s (3 audiences a request, unpinned), ratio {rate / file_rate:.2f}"
    ]


def run() -> list[str]:
    import compileall

    import injector

    compileall.compile_dir(Path(injector.__file__).parent, quiet=1)
    cores = sorted(os.sched_getaffinity(0))
    signer_core = cores[0]
    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        key = support.make_key(folder)
        socket = folder / "signer.sock"
        env = {
            **support.signer_env(key),
            "DynamicCredentialId": "03446895-220d-47e1-9564-4eeaa3691b42",
        }
        signer = support.start_signer(env, socket)
        try:
            os.sched_setaffinity(signer.process.pid, {signer_core})
            # Clients on the other cores (all of them, when there is only one).
            os.sched_setaffinity(0, set(cores[1:]) or set(cores))
            rate, busy = _signer_rate(socket, signer.process.pid)
            raw = _raw_rate(key, signer_core)
            lines.append(
                f"throughput     signer {rate:7.0f} tokens/s on one core, raw cryptography "
                f"sign {raw:7.0f}/s, ratio {rate / raw:.2f}  (goal >= 0.8)"
            )
            lines.append(
                f"               signer used {busy:.0%} of its core "
                f"({signer_clients.IN_FLIGHT} requests in flight from one client thread)"
            )
            rate3, busy3 = _signer_rate(socket, signer.process.pid, audiences=3)
            lines.append(
                f"               3 audiences a request (as `env` with 3 clouds): {rate3:7.0f} "
                f"tokens/s, ratio {rate3 / raw:.2f}, signer core {busy3:.0%}"
            )
            os.sched_setaffinity(signer.process.pid, set(cores))
            os.sched_setaffinity(0, set(cores))
            p50, p99 = _latency(socket)
            lines.append(
                f"latency        {LATENCY_CLIENTS} concurrent clients: p50 {p50 * 1e3:.1f} ms, "
                f"p99 {p99 * 1e3:.1f} ms"
            )
            lines += _env_comparison(folder, key, socket)
            lines += _transit_lines(folder, env, socket, signer.process.pid)
        finally:
            if signer.stop() != 0:
                raise RuntimeError("the signer did not exit 0 on SIGTERM")
        denied = [line for line in signer.audit() if line["decision"] != "allow"]
        if denied:
            raise RuntimeError(f"the signer refused {len(denied)} requests: {denied[0]}")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
