"""A variable that is almost one injector reads (another case, one letter off, a known prefix
with an unknown cloud) is most likely a typo that would leave a cloud switched off or a setting
at its default without a word: say which name was probably meant."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from injector import clouds
from injector.clouds import hcp, manual, tags
from injector.clouds.base import ALIAS_PREFIX, REQUIRE, Cloud
from injector.config import ci, issuer_settings, job_context
from injector.job import phases
from injector.job.settings import TERRAFORM_VARIABLES

log = logging.getLogger("injector")

# Too short a name is one letter away from too many others to mean anything.
_MIN_LENGTH = 6


def known(switched: Sequence[Cloud]) -> set[str]:
    """Every variable injector reads for a job whose environment may switch on the clouds
    `switched`: the others are not loaded, and only their switches are known (a typo in a
    setting of a cloud that is off changes nothing)."""
    names = {
        *job_context.OPTIONS,
        *issuer_settings.VARIABLES,
        phases.PHASE_CLAIM,
        REQUIRE,
        TERRAFORM_VARIABLES,
        ci.CI,
    }
    for line in clouds.REGISTRY:
        names.update((line.switch, line.alias))
    for cloud in switched:
        names.update(cloud.known_variables())
    names.update(hcp.names(switched))
    names.add(manual.AUDIENCE)
    return names


def _one_edit(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one insertion, deletion or substitution (not zero)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    # Past the first difference the rest must match, skipping one character of `b` (insertion)
    # or of both (substitution).
    return a[i:] == b[i + 1 :] or (len(a) == len(b) and a[i + 1 :] == b[i + 1 :])


class Known:
    """The names injector reads, indexed by folded case and by first letter: a job's
    environment holds a hundred variables or so, each checked against every name."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        self._folded = {name.casefold(): name for name in self.names}
        self._by_head: dict[str, list[tuple[str, str]]] = {}
        for name in self.names:
            if len(name) >= _MIN_LENGTH:
                folded = name.casefold()
                self._by_head.setdefault(folded[0], []).append((folded, name))

    def likely_meant(self, name: str) -> str | None:
        """The known variable `name` was most likely meant to be, or None."""
        if len(name) < _MIN_LENGTH:
            return None
        folded = name.casefold()
        if folded in self._folded:
            return self._folded[folded]
        for candidate_folded, candidate in self._by_head.get(folded[0], ()):
            if abs(len(candidate) - len(name)) <= 1 and _one_edit(folded, candidate_folded):
                return candidate
        return None


def switch_prefixes() -> tuple[str, ...]:
    """The prefixes every switch name starts with: a name with one of them and an unknown
    cloud after it switches nothing on."""
    shared = [line.switch[: line.switch.rfind("_") + 1] for line in clouds.REGISTRY]
    return (*dict.fromkeys(shared), ALIAS_PREFIX)


def tagged(name: str, switched: Sequence[Cloud]) -> bool:
    """Whether `name` is a tagged form of a variable one of `switched` reads
    (`<VARIABLE>_PROD`)."""
    return manual.is_variable(name) or any(
        tags.untagged(cloud, name) is not None for cloud in switched
    )


def warn(env: Mapping[str, str]) -> None:
    """A warning for each variable of `env` that looks like a misspelt one injector reads."""
    # Resolved once: each lookup walks the registry over every variable of the environment.
    switched = clouds.switched(env)
    names = Known(known(switched))
    prefixes = switch_prefixes()
    for name in env:
        if name in names.names or tagged(name, switched) or hcp.recognizes(name, switched):
            continue
        meant = names.likely_meant(name)
        if meant is not None:
            log.warning("%s is not a variable injector reads: did you mean %s?", name, meant)
        elif name.startswith(prefixes):
            log.warning(
                "%s switches nothing on: no cloud is called that (the switches: %s, or %s<NAME>)",
                name,
                clouds.switches(),
                ALIAS_PREFIX,
            )
        elif (cloud := hcp.claiming(name, switched)) is not None:
            # HCP's names are read by name, so one of the wrong shape (another cloud's switch
            # pattern, a setting injector does not take) would be dropped without a word.
            log.warning(
                "%s is not one of HCP Terraform's names that injector reads for %s: %s",
                name,
                cloud.label,
                _closest_hcp_name(name, cloud),
            )


def _closest_hcp_name(name: str, cloud: Cloud) -> str:
    """`did you mean <the HCP name most like it>?`, or that it is ignored when none is."""
    import difflib  # here: only a job with such a name pays for it

    close = difflib.get_close_matches(name, hcp.names([cloud]), n=1, cutoff=0.75)
    if close:
        return f"did you mean {close[0]}?"
    return "it is ignored"
