"""`make bench` (devtools/bench/run.py): the benchmark harness; the README's "Benchmarks" section explains it."""
