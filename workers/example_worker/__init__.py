"""An example worker: sums the numbers in its payload."""
