"""Tests of `make demo` (the demo/ package)."""
