"""Plotting and widget glue (no LoRA maths here)."""
