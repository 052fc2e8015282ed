"""Helpers that belong to one lesson each; the module name starts with the lesson's number."""
