"""`make demo`: see demo/__main__.py."""
