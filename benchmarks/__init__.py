"""sqlecho's benchmarks, outside the package they measure: ``python -m benchmarks`` (docs/benchmarks.md)."""
