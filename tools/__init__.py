"""Operators' tools, run from a workstation against a stage; never shipped to Lambda."""
