"""Everything the environment says, validated once: job context, issuer, enabled clouds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from injector import clouds
from injector.clouds import CloudConfig, crossed, hcp, manual, tags
from injector.clouds.base import REQUIRE
from injector.config import ci, issuer_settings, job_context, subject, values
from injector.config.issuer_settings import IssuerSettings
from injector.config.job_context import JobContext
from injector.config.subject import SubjectTemplate
from injector.config.variables import Variables
from injector.errors import ConfigError, Problem, Problems
from injector.job import phases

# Export HCP Terraform's TF_VAR_tfc_<cloud>_dynamic_credentials for every enabled cloud (a cloud
# with a tagged configuration always gets it).
TERRAFORM_VARIABLES = "INJECTOR_TERRAFORM_VARIABLES"


@dataclass(frozen=True)
class Settings:
    """`issuer` when the job signs with a key file; `signer` (its socket) when it mints through
    `injector signer`, which then owns the issuer settings: exactly one of the two is set."""

    job: JobContext
    issuer: IssuerSettings | None
    clouds: tuple[CloudConfig, ...]
    extra_claims: dict[str, object] = field(default_factory=dict)
    signer: Path | None = None
    # DynamicCredentialSigner=https://...: the job is keyless (injector.job.keyless).
    keyless: bool = False
    signer_user: int | None = None  # DynamicCredentialSignerUser: the only acceptable signer
    # TF_VAR_tfc_<cloud>_dynamic_credentials for every cloud, not only those with tags.
    terraform_variables: bool = False
    phase: str | None = None

    @property
    def subject(self) -> str | None:
        """The `sub` the job's tokens carry, rendered from the issuer's template; None through
        the signer, whose own template decides (read it from the tokens)."""
        if self.issuer is None:
            return None
        return self.issuer.subject_template.render(self.job, self.phase)


def load(
    env: Mapping[str, str],
    *,
    require_key: bool = True,
    phase: str | None = None,
    require: str | None = None,
) -> Settings | None:
    """The validated settings, or None when no cloud has dynamic credentials enabled (then the
    job and issuer settings are not needed and not checked).

    With a phase, `<VARIABLE>_PLAN` / `_APPLY` override the phased variables (job.phases).
    `require` (`--require`, else INJECTOR_REQUIRE): comma-separated clouds that must be enabled.
    With INJECTOR_CI (or `--ci`), the job context the environment lacks comes from that CI's
    variables (config.ci).
    Raises ConfigError listing every problem found, across all sections.
    """
    variables, found = resolve(env)
    loaded = None
    try:
        loaded = _load_variables(variables, require_key=require_key, phase=phase, require=require)
    except ConfigError as error:
        found += error.problems
    if found:
        raise ConfigError(dict.fromkeys(found))
    return loaded


def resolve(env: Mapping[str, str]) -> tuple[Variables, list[Problem]]:
    """The job's variables, built once: the environment, the job context its CI gives
    (config.ci: under the Terrakube names, which errors go on naming), HCP Terraform's names
    as injector's; and the problems HCP's names have."""
    with_ci = Variables.of(env).over(ci.with_defaults(env), {})
    variables, problems = hcp.translate(with_ci, clouds.switched(with_ci))
    if variables.derived():
        # A workspace written for HCP Terraform reads HCP's TF_VAR_tfc_* variables.
        default = {TERRAFORM_VARIABLES: variables.get(TERRAFORM_VARIABLES, "true")}
        variables = variables.over({**variables, **default}, {})
    return variables, list(problems)


def _load_variables(
    variables: Variables, *, require_key: bool, phase: str | None, require: str | None
) -> Settings | None:
    """Each problem goes under the variable the user set (`origin`), once."""
    resolved = phases.resolve(variables, phase)
    found: list[Problem] = []
    tagged = {}
    for cloud in clouds.switched(variables):
        try:
            tagged[cloud.name] = _tagged(cloud, variables, phase)
        except ConfigError as error:
            found += error.problems
            tagged[cloud.name] = ()
    try:
        loaded = _load(resolved, tagged, require_key=require_key, phase=phase, require=require)
    except ConfigError as error:
        found += resolved.blame(error).problems
    if found:
        # A tagged configuration sees the same environment: its static credentials (and the
        # like) are the untagged one's problem too, and said once.
        raise ConfigError(dict.fromkeys(found)) from None
    return loaded


def _tagged(
    cloud: clouds.Cloud, variables: Variables, phase: str | None
) -> tuple[CloudConfig, ...]:
    """The cloud's tagged configurations (clouds.tags), each read from its own view of the
    variables; an error names the tagged variable the user set."""
    problems = Problems()
    configs = []
    found, malformed = tags.found(cloud, variables)
    for problem in malformed:
        problems.add(variables.origin(problem.variable), problem.message)
    for tag in found:
        resolved = phases.resolve(tags.view(cloud, variables, tag), phase)
        try:
            config = cloud.configure(resolved)
        except ConfigError as error:
            problems.get(None, _raise, resolved.blame(error))
            continue
        if config is not None:
            configs.append(config.tagged(tag))
    problems.raise_if_any()
    return tuple(configs)


def _raise(error: ConfigError) -> None:
    raise error


def _load(
    env: Mapping[str, str],
    tagged: Mapping[str, tuple[CloudConfig, ...]],
    *,
    require_key: bool,
    phase: str | None,
    require: str | None,
) -> Settings | None:
    problems = Problems()
    enabled: list[CloudConfig] = []
    for cloud in clouds.switched(env):
        default = problems.run(cloud.configure, env)
        configs = (*([default] if default is not None else []), *tagged[cloud.name])
        if configs and cloud.gather is not None:
            configs = cloud.gather(configs)
        enabled += configs
    problems.run(crossed.refuse, enabled, env)
    # Tokens for providers injector does not know (HCP's manual generation): files only.
    enabled += problems.get((), manual.read_all, env)
    wanted = problems.get((), required_clouds, env, require)
    for name in wanted:
        if name not in [config.name for config in enabled]:
            cloud = clouds.named(name)
            problems.add(
                "--require" if require is not None else REQUIRE,
                f"{name} is required, but neither {cloud.switch} nor {cloud.alias} is on",
            )
    if not enabled and not problems:
        return None
    job = problems.run(job_context.from_env, env)
    # Through the signer, the key, `kid`, TTL, `iss` and the sub's shape are the signer's: none
    # is needed here.
    signing = values.optional(env, issuer_settings.SIGNER) is not None
    template = None if signing else _template(env)
    if template is not None:
        problems.run(template.check, subject.given_by(env, phase))
    signer = problems.get(None, issuer_settings.signer_socket, env)
    signer_user = problems.get(None, issuer_settings.signer_user, env)
    issuer = (
        None if signing else problems.run(issuer_settings.from_env, env, require_key=require_key)
    )
    extra_claims = problems.get({}, phases.claim, env, phase)
    terraform = problems.get(False, values.boolean, env, TERRAFORM_VARIABLES)
    rendered = _rendered(template, job, phase)
    if rendered is not None:
        problems.run(_subject_fits, rendered, enabled)
    problems.raise_if_any()
    keyless = signing and signer is None
    assert job is not None and (issuer or signer or keyless)  # noqa: S101 (raised otherwise)
    return Settings(
        job=job,
        issuer=issuer,
        clouds=tuple(enabled),
        extra_claims=extra_claims,
        signer=signer,
        keyless=keyless,
        signer_user=signer_user,
        phase=phase,
        terraform_variables=terraform,
    )


def required_clouds(env: Mapping[str, str], option: str | None) -> tuple[str, ...]:
    """The clouds `--require` (else INJECTOR_REQUIRE) names. Raises ConfigError for a name no
    cloud has."""
    name = "--require" if option is not None else REQUIRE
    value = option if option is not None else values.optional(env, REQUIRE)
    parts = (part.strip() for part in (value or "").split(","))
    wanted = tuple(dict.fromkeys(part for part in parts if part))
    names = clouds.names()
    unknown = [cloud for cloud in wanted if cloud not in names]
    if unknown:
        raise ConfigError.of(
            name,
            f"no cloud is called {', '.join(map(values.shown, unknown))}: expected a "
            f"comma-separated list of {', '.join(names)}",
        )
    return wanted


def _template(env: Mapping[str, str]) -> SubjectTemplate | None:
    try:
        return subject.from_env(env)
    except ConfigError:
        return None  # reported with the issuer settings


def _rendered(
    template: SubjectTemplate | None, job: JobContext | None, phase: str | None
) -> str | None:
    if template is None or job is None:
        return None
    try:
        return template.render(job, phase)
    except ConfigError:
        return None  # its values' problems are reported already


def _subject_fits(subject: str, enabled: list[CloudConfig]) -> None:
    """A cloud that keeps only so many bytes of `sub` (Google's `google.subject`) refuses a
    longer one at login: refuse it here, naming the names it is made of. (Through the signer,
    whose template the job does not know, doctor's token checks say it.)"""
    size = len(subject.encode())
    for config in enabled:
        limit = config.cloud.rules.checks.subject_limit
        if limit is not None and size > limit.max_bytes:
            raise ConfigError.of(
                job_context.WORKSPACE_NAME,
                f"with {job_context.ORGANIZATION_NAME} makes a sub of {size} bytes "
                f"({subject[:40]!r}...): {config.cloud.label} keeps at most "
                f"{limit.max_bytes} in {limit.attribute}; expected shorter names",
            )


def static_credentials(env: Mapping[str, str]) -> list[str]:
    """The static credential variables set for the clouds whose switch is on: `injector run`
    removes these from its child's environment, where they would win over web identity."""
    seen, _ = hcp.translate(env, clouds.switched(env))
    return [name for cloud in clouds.switched(seen) for name in cloud.static_credentials_set(seen)]
