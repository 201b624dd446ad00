"""Helpers shared by the tests and `make bench`: real server processes, keys, logins. No
pytest fixtures here (those are in conftest.py and standins/fixtures.py)."""
