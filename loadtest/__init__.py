"""The bundled load tester (``python -m loadtest``): closed and open loop, sweeps, honest percentiles."""
