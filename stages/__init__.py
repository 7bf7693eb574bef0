"""Thin DVC stage entry points: read params, call lib, write outputs."""
