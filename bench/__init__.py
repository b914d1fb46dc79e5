"""Benchmarks of the whole system on the local stack (``make bench``, ``make bench-quick``).

Never run by ``make test``: they print figures and write JSON and PNG files under
``bench/results/``; they assert nothing about time.
"""
