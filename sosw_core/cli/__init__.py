"""The ``sosw-core`` command line. Each command module exposes ``register(subparsers)``."""
