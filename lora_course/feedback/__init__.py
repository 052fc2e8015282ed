"""Feedback on students' work: answer keys, the implement-it task checks (``tasks``), the project's stage
checks (``project``), and the detector of reference use."""
