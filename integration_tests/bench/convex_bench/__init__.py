"""`make bench`: our connectors vs the incumbent vs a bare-loop floor, on one machine, in one run."""
