"""HCP's manual generation read as configurations: one per audience variable set, refreshed by
`run`'s refresher like every other token file."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from injector.clouds import manual
from injector.errors import ConfigError
from injector.job import pipeline, refresh
from injector.job.session import JobSession


def test_each_audience_variable_is_a_configuration_untagged_first() -> None:
    env = {
        f"{manual.AUDIENCE}_PROD": "prod.example",
        manual.AUDIENCE: "any.example",
        f"{manual.AUDIENCE}_DEV": "",  # Terrakube sends empty values: unset
        "TFC_WORKLOAD_IDENTITY_AUDIENCEX": "not ours",
    }
    configs = manual.read_all(env)

    assert [(config.tag, config.audience, config.export) for config in configs] == [
        (None, "any.example", manual.TOKEN_FILE_EXPORT),
        ("PROD", "prod.example", f"{manual.TOKEN_FILE_EXPORT}_PROD"),
    ]


def test_every_bad_audience_and_tag_is_named() -> None:
    env = {f"{manual.AUDIENCE}_APPLY": "x", f"{manual.AUDIENCE}_B": "a\tb", manual.AUDIENCE: "ok"}
    with pytest.raises(ConfigError) as raised:
        manual.read_all(env)

    problems = [str(problem) for problem in raised.value.problems]
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{manual.AUDIENCE}_APPLY: expected {manual.AUDIENCE}_<TAG>")
    assert problems[1].startswith(f"{manual.AUDIENCE}_B: contains a control character")


def test_the_refresher_mints_the_manual_tokens_afresh_with_their_audiences(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {**workspace, manual.AUDIENCE: "any.example", f"{manual.AUDIENCE}_PROD": "prod.example"}
    prepared = pipeline.prepare(env)
    assert prepared is not None
    fake_now = 2_000_000_000
    with JobSession(prepared, tmp_path / "d") as session:
        assert session.exports[manual.TOKEN_FILE_EXPORT] == str(tmp_path / "d" / "workload.jwt")
        refresher = refresh.Refresher(prepared, session.folder, 60, clock=lambda: fake_now)
        refresher.refresh_once()
        tokens = {
            name: (tmp_path / "d" / f"{name}.jwt").read_text()
            for name in ("workload", "workload_PROD")
        }

    for name, audience in (("workload", "any.example"), ("workload_PROD", "prod.example")):
        claims = jwt.decode(tokens[name], options={"verify_signature": False})
        assert (claims["aud"], claims["iat"]) == (audience, fake_now)
