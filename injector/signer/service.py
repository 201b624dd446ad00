"""One decision of the signer: a caller and its request in, an answer and an audit line out.

The signer builds every claim itself: `iss`, `kid`, `alg`, `iat`, `exp` and `jti` are its own;
from the request it takes only the job context, the audiences and the phase, validated with
the job side's rules. The audit line says who asked for what and what was decided; it never
holds a token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from injector import claims
from injector.config.issuer_settings import IssuerSettings
from injector.config.job_context import JobContext
from injector.config.subject import SubjectTemplate
from injector.errors import ConfigError
from injector.signer import peer, protocol, userns
from injector.signer.audit import Audit, caller_record, utc
from injector.signer.backend import SigningBackend
from injector.signer.peer import Peer, PeerChanged, StartTimeReader
from injector.signer.policy import Policy
from injector.signer.protocol import TokenRequest
from injector.signer.userns import Overflow

if TYPE_CHECKING:
    from injector.signer.attestation.rate import RateLimit
    from injector.signer.attestation.verify import Attested


# An audience the policy does not allow this attested job (RFC 8693 §2.2.2's invalid_target).
INVALID_TARGET = "invalid_target"


@dataclass(frozen=True)
class Exchanged:
    """The outcome of one exchange: a token and its lifetime, or a protocol error and why."""

    token: str | None = None
    expires_in: int = 0
    error: str | None = None
    message: str = ""


class _Refused(Exception):
    def __init__(self, message: str, error: str = protocol.REFUSED) -> None:
        super().__init__(message)
        self.error = error


def _listed(groups: frozenset[int]) -> str:
    return f", groups {', '.join(map(str, sorted(groups)))}" if groups else ""


@dataclass
class Service:
    issuer: IssuerSettings
    backend: SigningBackend
    policy: Policy
    audit: Audit = field(default_factory=Audit)
    clock: Callable[[], float] = time.time
    read_start: StartTimeReader = peer.start_time
    overflow: Overflow = field(default_factory=userns.of_this_process)
    _rate: RateLimit | None = None

    def answer(
        self, caller: Peer, document: dict[str, object] | None, deadline: float | None = None
    ) -> bytes:
        """The answer to send `caller`; `document` None: the request could not be read.
        `deadline` (time.monotonic): tokens signed after it are dropped, not sent."""
        now = self.clock()
        record = caller_record(caller, now)
        # An unmapped id is a number anyone in another user namespace may arrive as: what the
        # policy says about it must not decide for them.
        unmapped = self.overflow.reason(caller.uid, caller.gid)
        if unmapped is not None:
            return self._deny(record, protocol.REFUSED, unmapped)
        if document is None:
            return self._deny(record, protocol.INVALID, "not one JSON object within the size cap")
        try:
            request = protocol.parse_request(document)
        except ConfigError as error:
            return self._deny(record, protocol.INVALID, str(error), error)
        try:
            job, phase, attested = self.context(request, record)
        except _Refused as refused:
            return self._deny(record, refused.error, str(refused))
        try:
            subject = self._template(attested).render(job, phase)
        except ConfigError as error:
            return self._deny(record, protocol.INVALID, str(error), error)
        record.update(sub=subject, aud=list(request.audiences))
        # The kernel's record of the caller at connect() (SO_PEERGROUPS), read at accept only
        # when the policy names a group: nothing a reused pid could lend.
        groups = caller.groups
        if groups:
            record["groups"] = sorted(groups)
        try:
            who = f"uid {caller.uid} (gid {caller.gid}{_listed(groups)})"
            known = self.overflow.known_groups(groups)
            ttl = self._allowed_ttl(
                (caller.uid, caller.gid, known), who, request.audiences, subject, attested, record
            )
        except _Refused as refused:
            return self._deny(record, protocol.REFUSED, str(refused))
        if deadline is not None and time.monotonic() > deadline:
            return self._deny(record, protocol.INTERNAL, "timed out waiting for a signing worker")
        compact, minted = self._mint(job, phase, request.audiences, subject, int(now), ttl)
        if deadline is not None and time.monotonic() > deadline:
            # The caller has been told nothing and its connection is gone: no token went out.
            return self._deny(record, protocol.INTERNAL, "signing took longer than the deadline")
        try:
            # The tokens are signed; before they leave, the pid must still be the caller's.
            peer.check_unchanged(caller, self.read_start)
        except PeerChanged as changed:
            return self._deny(record, protocol.REFUSED, f"uid {caller.uid}: {changed}")
        record.update(
            decision="allow",
            jti=[claim["jti"] for claim in minted],
            exp=minted[0]["exp"],
            ttl_minutes=ttl,
        )
        self.audit.write(record)
        return protocol.allowed(compact)

    def context(
        self, request: TokenRequest, record: dict[str, object]
    ) -> tuple[JobContext, str | None, Attested | None]:
        """The job context and phase to mint for: the request's own, or with a subject token
        the ones the platform attests (a request naming others is refused). _Refused."""
        if request.subject_token is None:
            assert request.job is not None  # noqa: S101 (the protocol requires one)
            return request.job, request.phase, None
        if not self.policy.attestations:
            raise _Refused(f"{self.policy.source} has no [[attestation]]: no platform is trusted")
        from injector.signer.attestation import rate, verify

        try:
            attested = verify.Verifier(self.policy.attestations).verify(request.subject_token)
        except verify.InvalidToken as error:
            raise _Refused(str(error)) from None
        except verify.Unavailable as error:
            raise _Refused(str(error), protocol.UNAVAILABLE) from None
        record.update(
            attestation=attested.attestation.name,
            platform_iss=attested.attestation.issuer,
            platform_sub=attested.subject,
        )
        if self._rate is None:
            self._rate = rate.RateLimit()
        if not self._rate.allow(attested.budget, attested.attestation.rate_per_minute):
            raise _Refused(
                f"{attested.subject} (workspace {attested.job.workspace_id}): over "
                f"{attested.attestation.rate_per_minute} requests a minute (rate_per_minute of "
                "its [[attestation]])"
            )
        if request.job is not None:
            for name, value in protocol.context_fields(request.job).items():
                attested_value = protocol.context_fields(attested.job).get(name)
                if value != attested_value:
                    raise _Refused(
                        f"the request's {name} {value!r} is not the attested {attested_value!r}"
                    )
        if request.phase is not None and request.phase != attested.phase:
            raise _Refused(
                f"the request asks for phase {request.phase}; the platform token attests "
                f"{attested.phase or 'no phase'}"
            )
        return attested.job, attested.phase, attested

    def _template(self, attested: Attested | None) -> SubjectTemplate:
        """The attestation's own subject template, else the signer's: the job and phase fill
        it, never change its shape. (The policy's load refuses a `{phase}` one for an
        attestation of no phase.)"""
        own = attested.attestation.subject_template if attested is not None else None
        return own or self.issuer.subject_template

    def _allowed_ttl(
        self,
        caller: tuple[int | None, int | None, frozenset[int]],
        who: str,
        audiences: tuple[str, ...],
        subject: str,
        attested: Attested | None,
        record: dict[str, object],
    ) -> int:
        """The lifetime in minutes: the signer's, capped by the deciding entries; marks the
        audit `record` when an entry let the caller (uid, gid, groups) name its context.
        _Refused naming `who`, with the error `invalid_target` when the entries that allow this
        `sub` allow none of the audiences."""
        uid, gid, groups = caller
        ttl = self.issuer.ttl_minutes
        refused = []
        for audience in audiences:
            entry = self.policy.decide(uid, gid, subject, audience, groups, attested)
            if entry is None:
                refused.append(audience)
                continue
            if entry.caller_named:
                record["caller_named"] = True
            if entry.max_ttl_minutes is not None:
                ttl = min(ttl, entry.max_ttl_minutes)
        if refused:
            other_audience = any(
                replace(entry, audiences=None).allows(uid, gid, subject, "", groups, attested)
                for entry in self.policy.entries
            )
            raise _Refused(
                f"{who} may not mint sub {subject!r} "
                f"for aud {', '.join(repr(a) for a in refused)}: no [[allow]] entry of "
                f"{self.policy.source} allows it",
                INVALID_TARGET if other_audience else protocol.REFUSED,
            )
        return ttl

    def exchange(self, subject_token: str, audience: str, remote: str) -> Exchanged:
        """One RFC 8693 exchange (signer.token_exchange): the platform's token for one of ours
        for `audience`, or the refusal, audited with the `remote` address."""
        now = self.clock()
        record: dict[str, object] = {"time": utc(now), "remote": remote}
        request = TokenRequest(None, (audience,), subject_token=subject_token)
        try:
            job, phase, attested = self.context(request, record)
            assert attested is not None  # noqa: S101 (a subject token was given)
            subject = self._template(attested).render(job, phase)
            record.update(sub=subject, aud=[audience])
            ttl = self._allowed_ttl(
                (None, None, frozenset()), attested.subject, (audience,), subject, attested, record
            )
        except ConfigError as error:
            self._deny(record, protocol.INVALID, str(error), error)
            return Exchanged(error=protocol.INVALID, message=str(error))
        except _Refused as refused:
            self._deny(record, refused.error, str(refused))
            return Exchanged(error=refused.error, message=str(refused))
        compact, minted = self._mint(job, phase, (audience,), subject, int(now), ttl)
        record.update(
            decision="allow", jti=[minted[0]["jti"]], exp=minted[0]["exp"], ttl_minutes=ttl
        )
        self.audit.write(record)
        return Exchanged(token=compact[0], expires_in=ttl * 60)

    def _mint(
        self,
        job: JobContext,
        phase: str | None,
        audiences: tuple[str, ...],
        subject: str,
        now: int,
        ttl: int,
    ) -> tuple[list[str], list[dict[str, object]]]:
        header: dict[str, object] = {
            "kid": self.backend.key_id,
            "alg": self.backend.algorithm,
            "typ": "JWT",
        }
        extra = {claims.PHASE_CLAIM_NAME: phase} if phase is not None else {}
        claim_sets = [
            claims.claim_set(job, subject, self.issuer.issuer, audience, now, ttl, extra)
            for audience in audiences
        ]
        return self.backend.sign_all(header, claim_sets), claim_sets

    def _deny(
        self,
        record: dict[str, object],
        error: str,
        message: str,
        problems: ConfigError | None = None,
    ) -> bytes:
        record.update(decision="refuse" if error == protocol.REFUSED else error, reason=message)
        self.audit.write(record)
        return protocol.failed(error, message, problems.problems if problems else ())

    def failure(self, caller: Peer, reason: str) -> None:
        """Audit a request that ended without an answer (the caller left, a signing error)."""
        record = caller_record(caller, self.clock())
        self.audit.write({**record, "decision": protocol.INTERNAL, "reason": reason})

    def refused_connections(self, caller: Peer, count: int, cap: int) -> None:
        """Audit `count` connections of `caller`'s uid refused unread (over `cap` open): one
        line per uid and second, whatever the flood's size."""
        self.audit.write(
            {
                **caller_record(caller, self.clock()),
                "decision": "refuse",
                "reason": f"uid {caller.uid} already has {cap} connections open: "
                f"{count} more refused unread",
                "refused": count,
            }
        )
