"""The make commands' tooling, above the lesson: `make lab` and `make notebooks` (run_lab), `make bench` with its
parts (the stage URL's load, soak and /proc samples, the RDS Proxy's speed, the classroom), `make conformance` and
`make example-charts`. Each runs as `python -m lab_helpers.tools.<name>`; no lesson step imports this package."""
