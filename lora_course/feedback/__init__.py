"""Feedback on students' work: answer keys, task checks, the project's stage checks, reference detection."""
