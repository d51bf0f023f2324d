"""The Python side of Function Mode: a generic runtime that is specialized with one function."""
