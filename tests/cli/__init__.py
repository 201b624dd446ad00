"""Tests of injector/cli: the command line itself."""
