"""Harness of the end-to-end test: processes, the sandbox stand-in, the gateways."""
