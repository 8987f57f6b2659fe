"""The sosw 0.7.51 side of the benchmark; runs inside its own venv (.venv-sosw07)."""
