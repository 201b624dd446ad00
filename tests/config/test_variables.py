"""The layered variables: each layer sees its values, and `origin` follows the layers down to
the variable the user set."""

from __future__ import annotations

from injector.config.variables import Variables
from injector.errors import ConfigError, Problem


def test_the_bottom_layer_is_the_environment_and_names_itself() -> None:
    env = {"A": "1", "B": "2"}
    variables = Variables.of(env)
    assert dict(variables) == env and len(variables) == 2
    assert variables.origin("A") == "A"
    assert variables.origin("UNSET") == "UNSET"
    assert not variables.derived()
    assert Variables.of(variables) is variables


def test_origin_follows_every_layer_down() -> None:
    # HCP's name under the tagged phase form, then the tag, then the phase.
    hcp = Variables.of({"TFC_AWS_APPLY_ROLE_ARN_PROD": "r"}).over(
        {"ROLE_AWS_PROD_APPLY": "r"}, {"ROLE_AWS_PROD_APPLY": "TFC_AWS_APPLY_ROLE_ARN_PROD"}
    )
    tagged = hcp.over({"ROLE_AWS_APPLY": "r"}, {"ROLE_AWS_APPLY": "ROLE_AWS_PROD_APPLY"})
    phased = tagged.over({"ROLE_AWS": "r"}, {"ROLE_AWS": "ROLE_AWS_APPLY"})
    assert phased["ROLE_AWS"] == "r" and "ROLE_AWS_APPLY" not in phased
    assert phased.origin("ROLE_AWS") == "TFC_AWS_APPLY_ROLE_ARN_PROD"
    assert tagged.origin("ROLE_AWS_APPLY") == "TFC_AWS_APPLY_ROLE_ARN_PROD"
    assert phased.derived()


def test_an_error_is_put_under_the_variable_the_user_set() -> None:
    phased = Variables.of({"ROLE_APPLY": "x"}).over({"ROLE": "x"}, {"ROLE": "ROLE_APPLY"})
    error = ConfigError([Problem("ROLE", "is not a role"), Problem("--phase", "bad")])
    assert phased.blame(error).problems == (
        Problem("ROLE_APPLY", "is not a role"),
        Problem("--phase", "bad"),
    )


def test_a_renamed_problem_names_the_user_set_variables_in_its_message_too() -> None:
    tagged = Variables.of({}).over({}, {"SWITCH": "SWITCH_PROD", "ALIAS": "ALIAS_PROD"})
    error = ConfigError(
        [
            Problem("SWITCH", "is 'true' but ALIAS is 'false' (ALIAS_X, SWITCHES untouched)"),
            Problem("STATIC_KEY", "is set, and wins over the identity SWITCH asks for"),
        ]
    )
    assert tagged.blame(error).problems == (
        Problem("SWITCH_PROD", "is 'true' but ALIAS_PROD is 'false' (ALIAS_X, SWITCHES untouched)"),
        Problem("STATIC_KEY", "is set, and wins over the identity SWITCH asks for"),
    )
