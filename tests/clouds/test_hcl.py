"""HCL's form of a TF_VAR_ value; Terraform itself reads it back in
tests/hostile/test_formats.py."""

from __future__ import annotations

import json

import pytest

from injector.clouds import hcl


def test_a_value_without_template_sequences_stays_json() -> None:
    value = {"default": None, "aliases": {"PROD": {"path": "/w/a b", "on": True, "n": 3}}}
    assert json.loads(hcl.render(value)) == value


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("${a}", '"$${a}"'),
        ("%{a}", '"%%{a}"'),
        ("$${a}", '"$$${a}"'),
        ("$ % {", '"$ % {"'),
        ("\b\f\x7f", '"\\u0008\\u000c\\u007f"'),
        ('"\\\n\r\t', '"\\"\\\\\\n\\r\\t"'),
        ("é😀", '"é😀"'),
    ],
)
def test_strings_follow_hcl_rules(text: str, written: str) -> None:
    assert hcl.render(text) == written


def test_anything_else_has_no_form() -> None:
    with pytest.raises(TypeError):
        hcl.render(1.5)
