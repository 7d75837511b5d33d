"""Development tools (evaluation reports, stand-ins, benchmarks): never imported by the product (`bot`, `actions`),
and left out of the wheel."""
