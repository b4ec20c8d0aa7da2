"""The local stack by job: install, environment, the running stack, and the test pipeline.

Standard library only: it runs before any virtual environment exists. `tools/stack.py` is its
command line.
"""
