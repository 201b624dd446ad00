"""Tests of the documentation: README, docs/ and the pages generated from the code."""
