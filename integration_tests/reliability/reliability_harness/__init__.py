"""The reliability suite's harness: run the connectors as the platform does, inject faults and
crashes, compare what reached Convex with the origin, and tabulate what happened.

Everything here drives the real connectors (console scripts in subprocesses, or the source's
entry class in-process through the CDK's test entrypoint) against real HTTP servers: the local
Convex-compatible deployment, or a small fake Convex for malformed answers. Nothing of our own
code is mocked.
"""
