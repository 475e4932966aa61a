"""Helpers of rampart's end-to-end tests: server lifecycle, SDK client factories, signer, shape checks."""
