"""The hot path: how much `injector env` adds to a job's start, and how fast it signs.

Every figure is a ratio against a floor measured in the same run on the same machine:
- hook latency: median wall time of the installed `injector env` command (AWS, Azure and GCP,
  RSA-2048) against a `python -c` that imports cryptography's RSA primitives, loads the same key
  as injector does (without cryptography's full RSA check, which costs about 40 ms and which
  injector replaces by a signature it verifies, config/signing_keys.py) and signs once;
- against the hand-written alternative, side by side (alternated): `injector env` with the key
  file for 3 clouds and for 1, and through `injector signer` for 3, each against a shell script
  minting the same three tokens with `openssl` (bench_signer.SCRIPT). Measured on a wheel
  installed into a venv of its own, as users get it from pip (this checkout's editable finder
  costs every start and is shown once for comparison), beside floors: the bare interpreter,
  the interpreter loading the key with cryptography and signing once, and, for each run, the
  interpreter importing exactly the modules outside injector that the run loads (standard
  library and cryptography; the key file's also loading and signing once), which no program
  built on those modules can go under;
- what `injector env` imports (`-X importtime`): the total, and the costliest modules;
- mint throughput: tokens per second through injector's own minting, in-process, against raw
  `cryptography` signing of the same bytes with the same key (RSA-2048 RS256, P-256 ES256), on
  the same core;
- peak memory (max RSS) of `injector env` and of the floor process.
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cryptography
from bench_signer import (
    GCP_AUDIENCE,
    SCRIPT,
    THREE_CLOUDS_ENV,
)  # bench/ is on sys.path (bench/run.py)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from injector import claims
from injector.job import pipeline
from injector.job.key_minter import KeyFileMinter
from tests.support import signer as support
from tests.support.jobs import refusing

RUNS = 21
# Where measured commands run: not this checkout, whose folder `python -m` would put first on
# sys.path (the installed package would then not be the one measured).
ELSEWHERE = "/"
MINT_SECONDS = 4.0
MINT_ROUNDS = 16

FLOOR = """
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
key = serialization.load_pem_private_key(
    open(sys.argv[1], "rb").read(), password=None, unsafe_skip_rsa_key_validation=True
)
key.sign(b"x" * 600, padding.PKCS1v15(), hashes.SHA256())
"""

# What the openssl script does, in Python with the same library injector uses, and nothing else:
# three tokens signed and written 0600 through a rename, their paths printed. No variable is
# read or checked, no folder is checked: the least any Python tool minting them can cost.
BARE_JOB = """
import base64, json, os, sys, time, uuid
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")
key = serialization.load_pem_private_key(
    open(sys.argv[1], "rb").read(), password=None, unsafe_skip_rsa_key_validation=True
)
out, now = sys.argv[2], int(time.time())
os.makedirs(out, mode=0o700, exist_ok=True)
header = b64(json.dumps({"kid": "bench-kid", "alg": "RS256", "typ": "JWT"}).encode())
for name, aud in (("aws", "aws.workload.identity"), ("azure", "api://x"), ("gcp", "//x")):
    claims = {"sub": "organization:o:workspace:w", "aud": aud, "jti": str(uuid.uuid4()),
              "iat": now, "exp": now + 1800, "iss": "https://issuer.example.com"}
    body = header + b"." + b64(json.dumps(claims).encode())
    token = body + b"." + b64(key.sign(body, padding.PKCS1v15(), hashes.SHA256()))
    staged = os.path.join(out, f".{name}.jwt")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.write(fd, token)
    os.close(fd)
    os.replace(staged, os.path.join(out, f"{name}.jwt"))
    print(f"export TOKEN_FILE_{name.upper()}={out}/{name}.jwt")
"""

ROOT = Path(__file__).resolve().parent.parent

# Runs injector's main() and prints, at exit, every module outside injector that the run loaded:
# what a Python program doing the same job with the same libraries could not avoid importing.
LOADED = """
import atexit, sys
def report():
    names = sorted(n for n in sys.modules if n != "__main__" and n.split(".")[0] != "injector")
    sys.stderr.write("LOADED " + ",".join(names) + "\\n")
atexit.register(report)
from injector.cli import main
sys.exit(main(sys.argv[1:]))
"""

# Imports those modules, then (key file) loads the key and signs once as FLOOR does.
IMPORTS_ONLY = """
import importlib, sys
for name in sys.argv.pop(1).split(","):
    try:
        importlib.import_module(name)
    except ImportError:
        pass  # a name another module put in sys.modules under a name of its own
"""


def _installed(folder: Path) -> Path:
    """The python of a venv made in `folder` holding a wheel built from this checkout, as pip
    installs it. Its dependencies (cryptography) are not downloaded again: the venv reaches
    this interpreter's site-packages by a path line, which does not run that folder's own .pth
    files (so neither the editable finder nor the distutils shim load)."""
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "injector", source / "injector", ignore=shutil.ignore_patterns("__pycache__")
    )
    wheels = folder / "wheels"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True)
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (wheel,) = wheels.glob("*.whl")
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "_bench_dependencies.pth").write_text(
        f"{Path(cryptography.__file__).parent.parent}\n"
    )
    return python


def _script(python: Path | str) -> str:
    """The `injector` command pip installed beside `python`: what a hook or a runner starts
    (`python -m injector` would add runpy's imports to every figure)."""
    return str(Path(python).parent / "injector")


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and max RSS (KiB) of one run of `command`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ELSEWHERE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        said = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise RuntimeError(f"{command} failed: {said}")
    return elapsed, usage.ru_maxrss


def _median_alternating(
    a: list[str], b: list[str], env_a: dict[str, str], env_b: dict[str, str]
) -> tuple[float, float, int, int]:
    """Alternate the two commands so that both see the same machine noise."""
    times_a, times_b, rss_a, rss_b = [], [], 0, 0
    for _ in range(RUNS):
        t, r = _timed(a, env_a)
        times_a.append(t)
        rss_a = max(rss_a, r)
        t, r = _timed(b, env_b)
        times_b.append(t)
        rss_b = max(rss_b, r)
    return statistics.median(times_a), statistics.median(times_b), rss_a, rss_b


def _side_by_side(commands: dict[str, tuple[list[str], dict[str, str]]]) -> dict[str, float]:
    """The median wall time of each command, run in turn RUNS times so that all of them see the
    same machine noise."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, (command, env) in commands.items():
            times[name].append(_timed(command, env)[0])
    return {name: statistics.median(values) for name, values in times.items()}


def _loaded(command: list[str], env: dict[str, str]) -> str:
    """The modules outside injector that `command` (an installed `injector ...`) loads, as
    IMPORTS_ONLY takes them."""
    python = str(Path(command[0]).parent / "python")
    probe = [python, "-c", LOADED, *command[1:]]
    result = subprocess.run(probe, env=env, capture_output=True, text=True, cwd=ELSEWHERE)
    said = [line for line in result.stderr.splitlines() if line.startswith("LOADED ")]
    if result.returncode != 0 or not said:
        raise RuntimeError(f"{probe} failed: {result.stderr[-500:]}")
    return said[-1].removeprefix("LOADED ")


def _goals(folder: Path, env: dict[str, str], installed: Path) -> list[str]:
    """`injector env` with the key file (3 clouds, 1 cloud) and through the signer (3 clouds),
    installed from a wheel, against the openssl script, alternated in one loop; beside them the
    editable install of this checkout and the floors no Python tool can go under."""
    key = Path(env["DynamicCredentialPrivateKeyPath"])
    signer_env = {**support.signer_env(key), "DynamicCredentialId": "bench-kid"}
    socket = folder / "signer.sock"
    # AWS alone, as a workspace that never mentions the other clouds.
    others = ("AZURE", "ARM_", "GCP", "GOOGLE_", "VAULT")
    one_cloud = {k: v for k, v in env.items() if not any(part in k for part in others)}
    job = {k: v for k, v in env.items() if not k.startswith("DynamicCredential")}
    # The signer and the job both run as root here: root is named as the signer's user.
    through = {
        **job,
        "DynamicCredentialSigner": f"unix:{socket}",
        "DynamicCredentialSignerUser": str(os.getuid()),
    }
    script_env = {**env, "KEY": str(key), "KID": "bench-kid", "GCP": GCP_AUDIENCE}
    count = iter(range(10**6))

    def env_cmd(python: Path | str = installed) -> list[str]:
        out = folder / f"goal-{next(count)}"
        return [_script(python), "env", "--format", "json", "--dir", str(out)]

    path_only = {"PATH": env["PATH"]}
    signer = support.start_signer(signer_env, socket)
    try:
        key_modules = _loaded(env_cmd(), env)
        signer_modules = _loaded(env_cmd(), through)
        medians = _side_by_side(
            {
                "key3": (env_cmd(), env),
                "key1": (env_cmd(), one_cloud),
                "signer3": (env_cmd(), through),
                "editable3": (env_cmd(sys.executable), env),
                "script": (["sh", "-c", SCRIPT], {**script_env, "OUT": str(folder / "script")}),
                "python": ([str(installed), "-c", "pass"], path_only),
                "floor": ([str(installed), "-c", FLOOR, str(key)], path_only),
                "bare_job": (
                    [str(installed), "-c", BARE_JOB, str(key), str(folder / "bare")],
                    path_only,
                ),
                "modules_key": (
                    [str(installed), "-c", IMPORTS_ONLY + FLOOR, key_modules, str(key)],
                    path_only,
                ),
                "modules_signer": ([str(installed), "-c", IMPORTS_ONLY, signer_modules], path_only),
            }
        )
    finally:
        signer.stop()
    script = medians["script"]

    def row(label: str, name: str, goal: str = "") -> str:
        return (
            f"               {label:36s}{medians[name] * 1e3:7.1f} ms"
            f"   ratio {medians[name] / script:.2f}{goal}"
        )

    return [
        f"vs openssl     openssl shell script (3 tokens)     {script * 1e3:7.1f} ms"
        f"   [{RUNS} runs each, alternated; injector installed from a wheel]",
        row("injector env, key file, 3 clouds", "key3", "  (goal <= 1.3)"),
        row(
            "injector env, key file, 1 cloud",
            "key1",
            f"  (goal: clearly under 3 clouds: {medians['key1'] / medians['key3']:.2f} of it)",
        ),
        row("injector env, signer,   3 clouds", "signer3", "  (goal <= 1.0)"),
        row("editable install, key file, 3 clouds", "editable3", "  (this checkout, not users')"),
        row("floor: python -c pass", "python"),
        row("floor: python, load key, sign once", "floor"),
        row("floor: a bare python job, 3 tokens", "bare_job"),
        row("floor: modules of the key file run", "modules_key"),
        row("floor: modules of the signer run", "modules_signer"),
        f"               injector's own cost (key file, 3 clouds, over the floor)"
        f" {(medians['key3'] - medians['floor']) * 1e3:5.1f} ms;"
        f" through the signer, over bare python"
        f" {(medians['signer3'] - medians['python']) * 1e3:5.1f} ms",
        f"               of which injector's own modules and work (over the same modules without"
        f" injector): key file {(medians['key3'] - medians['modules_key']) * 1e3:5.1f} ms,"
        f" signer {(medians['signer3'] - medians['modules_signer']) * 1e3:5.1f} ms",
    ]


IMPORT_RUNS = 7

# Runs injector's main() with dataclass creation timed: what the records defined at import
# cost a run (Python 3.11 compiles each generated method with its own exec).
RECORDS = """
import atexit, dataclasses, sys, time
made, spent, process = [], [], dataclasses._process_class
def timed(cls, *args, **kwargs):
    started = time.perf_counter()
    try:
        return process(cls, *args, **kwargs)
    finally:
        made.append(cls.__module__)
        spent.append(time.perf_counter() - started)
dataclasses._process_class = timed
atexit.register(lambda: sys.stderr.write(f"RECORDS {len(made)} {sum(spent)}\\n"))
from injector.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _records(command: list[str], env: dict[str, str]) -> str:
    """How many dataclasses a `python -m injector ...` run creates, and their median cost."""
    counts, costs = [], []
    for _ in range(IMPORT_RUNS):
        probe = [command[0], "-c", RECORDS, *command[3:]]
        result = subprocess.run(
            probe, env=env, capture_output=True, text=True, check=False, cwd=ELSEWHERE
        )
        said = [line for line in result.stderr.splitlines() if line.startswith("RECORDS ")]
        if result.returncode != 0 or not said:
            raise RuntimeError(f"{probe} failed: {result.stderr[-500:]}")
        _, count, cost = said[-1].split()
        counts.append(int(count))
        costs.append(float(cost))
    return (
        f"records        {max(counts)} dataclasses created, {statistics.median(costs) * 1e3:.1f} ms"
        f" [median of {IMPORT_RUNS}]"
    )


def _import_times(command: list[str], env: dict[str, str], shown: int = 8) -> list[str]:
    """What `command` (a `python -m injector ...`) imports, from `-X importtime`: the total and
    the modules costliest by their own time, each the median of IMPORT_RUNS runs."""
    traced = [command[0], "-X", "importtime", *command[1:]]
    own: dict[str, list[int]] = {}
    totals = []
    for _ in range(IMPORT_RUNS):
        result = subprocess.run(
            traced, env=env, capture_output=True, text=True, check=False, cwd=ELSEWHERE
        )
        if result.returncode != 0:
            raise RuntimeError(f"{traced} failed: {result.stderr[-500:]}")
        total = 0
        for line in result.stderr.splitlines():
            if not line.startswith("import time:") or "[us]" in line:
                continue
            mine, cumulative, name = line.removeprefix("import time:").split("|", 2)
            own.setdefault(name.strip(), []).append(int(mine))
            total += int(cumulative) if not name[1:].startswith(" ") else 0
        totals.append(total)
    median = {name: statistics.median(times) for name, times in own.items()}
    injector_own = sum(time for name, time in median.items() if name.startswith("injector"))
    costly = sorted(median.items(), key=lambda item: -item[1])[:shown]
    return [
        f"imports        (wheel install) {len(median)} modules,"
        f" {statistics.median(totals) / 1e3:.1f} ms in all,"
        f" injector's own {injector_own / 1e3:.1f} ms; costliest by own time"
        f" [median of {IMPORT_RUNS}]:",
        *(f"                 {time / 1e3:5.1f} ms  {name}" for name, time in costly),
    ]


def _key_files(folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "private.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def _rate(work: Callable[[], object], seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        work()
        count += 1
    return count / elapsed


def _mint_throughput(env: dict[str, str], algorithm: str) -> str:
    """Tokens per second through injector's minting against raw signing of the same bytes with
    the same key, on one core."""
    prepared = pipeline.prepare(env)
    if prepared is None:
        raise RuntimeError("the example workspace enables no cloud")
    settings, minter = prepared.settings, prepared.minter
    if not isinstance(minter, KeyFileMinter) or settings.issuer is None:
        raise RuntimeError("the bench signs with a key file")
    key, issuer, subject = minter.key, settings.issuer.issuer, settings.subject
    if subject is None:
        raise RuntimeError("the bench renders sub itself")

    def mint() -> str:
        built = claims.claim_set(
            settings.job, subject, issuer, settings.clouds[0].audience, int(time.time()), 30
        )
        return claims.mint(key, built).compact

    signing_input = mint().rsplit(".", 1)[0].encode()
    raw_key = key.private_key

    def raw_sign() -> bytes:
        if isinstance(raw_key, rsa.RSAPrivateKey):
            return raw_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return raw_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))

    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        # Short alternating slices, so that both see the same machine: a drift of the CPU's
        # speed during a long run of one would otherwise land on one side of the ratio only.
        mint_rates, raw_rates = [], []
        for _ in range(MINT_ROUNDS):
            mint_rates.append(_rate(mint, MINT_SECONDS / MINT_ROUNDS))
            raw_rates.append(_rate(raw_sign, MINT_SECONDS / MINT_ROUNDS))
        mint_rate, raw_rate = statistics.median(mint_rates), statistics.median(raw_rates)
    finally:
        os.sched_setaffinity(0, cores)
    return (
        f"mint {algorithm:9s} injector {mint_rate:8.0f} tokens/s, raw cryptography sign "
        f"{raw_rate:8.0f}/s, ratio {mint_rate / raw_rate:.2f}  (goal >= 0.9, one core)"
    )


def run() -> list[str]:
    # A pip install ships bytecode; this checkout is an editable install, and the environment
    # may forbid writing it (PYTHONDONTWRITEBYTECODE), which would recompile every module of
    # injector on each run. Compile once, as an install does.
    import injector

    compileall.compile_dir(Path(injector.__file__).parent, quiet=1)
    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        private_key = _key_files(folder)
        installed = _installed(folder)
        env = {
            "PATH": os.environ["PATH"],
            **THREE_CLOUDS_ENV,
            "DynamicCredentialPrivateKeyPath": str(private_key),
        }
        injector_cmd = [
            str(installed),
            "-m",
            "injector",
            "env",
            "--dir",
            str(folder / "out"),
            "--format",
            "json",
        ]
        floor_cmd = [str(installed), "-c", FLOOR, str(private_key)]
        injector_s, floor_s, injector_rss, floor_rss = _median_alternating(
            [_script(installed), *injector_cmd[3:]], floor_cmd, env, {"PATH": os.environ["PATH"]}
        )
        lines += [
            f"hook latency   injector env (3 clouds, RSA-2048) median {injector_s * 1e3:7.1f} ms",
            f"               floor (import + load key + sign once) {floor_s * 1e3:7.1f} ms",
            f"               ratio {injector_s / floor_s:.2f}  (goal <= 1.5)"
            f"   [{RUNS} runs each, alternated]",
            f"peak memory    injector env {injector_rss / 1024:.1f} MiB,"
            f" floor {floor_rss / 1024:.1f} MiB",
        ]

        lines += _goals(folder, env, installed)
        lines += _import_times(injector_cmd, env)
        lines.append(_records(injector_cmd, env))
        lines.append(_mint_throughput(env, "RS256"))
        ec_key = folder / "ec.pem"
        ec_key.write_bytes(
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        ec_key.chmod(0o600)
        ec_env = {
            **env,
            "DynamicCredentialPrivateKeyPath": str(ec_key),
            "DynamicCredentialAlgorithm": "ES256",
            # Entra ID takes RS256 only, so an ES256 job cannot enable Azure.
            **refusing("ES256"),
        }
        lines.append(_mint_throughput(ec_env, "ES256"))
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
