"""Lesson 05's project checks, by stage: common, collect (kernel side), lora, network, training, merging, checks."""
