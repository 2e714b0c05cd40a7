"""The evaluation stack shared by every backend: detectors, metrics, attacks and the report."""
