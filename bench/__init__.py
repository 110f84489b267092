"""Benchmarks: a generated dataset, the workload a frontend sends, a load runner (wrk) and the floors
each request is measured against. `python -m bench --help` lists the commands."""
