"""Benchmarks: `python -m skipjax.bench NAME [--json PATH] [--quick]`, NAME a module here or `all`.

Each benchmark is a module `skipjax/bench/<name>.py` with `run(quick: bool = False) -> list[Row]`
(see `harness`); modules are found by name, so adding a file adds a benchmark. Importing this
package imports no benchmark module.
"""
