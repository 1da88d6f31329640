"""Benchmarks of Tidings (see bench/README.md): `python -m bench [name] [--size N ...]`."""
