"""Helpers the tests share: fakes, fixtures factories, child-process scripts (not tests)."""
