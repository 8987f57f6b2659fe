"""Example workers shipped with the library (used by ``sosw-core demo``)."""
