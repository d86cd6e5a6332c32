"""Benchmarks: plain scripts that print tables (`make bench` or `python -m bench`)."""
