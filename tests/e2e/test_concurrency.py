"""Many jobs injecting at once, each into its own folder: no shared state leaks between them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import jwt

from injector.job import pipeline
from tests.conftest import KeyFiles
from tests.support import issuers, jobs

JOBS = 200


def _inject(workspace: dict[str, str], folder: str, job_id: str) -> dict[str, str]:
    """One job, in-process: the same pipeline `injector env` runs."""
    prepared = pipeline.prepare({**workspace, "jobId": job_id})
    assert prepared is not None
    return jobs.written(prepared, Path(folder)).exports


def _check(results: list[tuple[Path, str, dict[str, str]]], public_pem: Path) -> None:
    key = issuers.public_key(public_pem.read_bytes())
    jtis = set()
    for folder, job_id, exports in results:
        assert sorted(p.name for p in folder.iterdir()) == [
            "aws.jwt",
            "azure.jwt",
            "gcp-credentials.json",
            "gcp.jwt",
        ]
        for name, value in exports.items():
            if value.startswith("/"):
                assert Path(value).parent == folder, (name, value)
        credentials = json.loads((folder / "gcp-credentials.json").read_text())
        assert credentials["credential_source"]["file"] == str(folder / "gcp.jwt")
        for cloud in ("aws", "azure", "gcp"):
            claims = jwt.decode(
                (folder / f"{cloud}.jwt").read_text(),
                key,
                algorithms=["RS256"],
                options={"verify_aud": False},
            )
            assert claims["terrakube_job_id"] == job_id
            jtis.add(claims["jti"])
    assert len(jtis) == 3 * len(results)


def test_threads(workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path) -> None:
    jobs = [(tmp_path / f"job-{i}", str(i)) for i in range(JOBS)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        exports = list(pool.map(lambda job: _inject(workspace, str(job[0]), job[1]), jobs))
    _check([(f, j, e) for (f, j), e in zip(jobs, exports, strict=True)], key_files.public)


def test_processes(workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path) -> None:
    jobs = [(tmp_path / f"job-{i}", str(i)) for i in range(JOBS)]
    with ProcessPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(_inject, workspace, str(folder), job) for folder, job in jobs]
        exports = [future.result() for future in futures]
    _check([(f, j, e) for (f, j), e in zip(jobs, exports, strict=True)], key_files.public)


def test_cli_processes_started_together(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    """Real `injector env` processes, all started before any is waited for."""
    started = []
    for i in range(24):
        folder = tmp_path / f"cli-{i}"
        process = subprocess.Popen(
            [sys.executable, "-m", "injector", "env", "--dir", str(folder), "--format", "json"],
            env={"PATH": os.environ["PATH"], **workspace, "jobId": f"cli-{i}"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append((folder, f"cli-{i}", process))
    results = []
    for folder, job_id, process in started:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        results.append((folder, job_id, json.loads(stdout)))
    _check(results, key_files.public)
