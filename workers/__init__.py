"""Example worker Lambdas (each a Worker subclass with a Lambda handler)."""
