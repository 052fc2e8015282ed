"""Measuring on a shared machine: interleaved timing rounds, bootstrap intervals, and verdicts on claims."""
