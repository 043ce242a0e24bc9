"""Hostile input, one module per entry point: the developers' own corpus (image bombs by
bytes and bit depth, polyglots, traversal and SSRF feed rows, deep JSON, slow bodies), each
case asserting its exact outcome. Built in code; no corpus files are checked in."""
