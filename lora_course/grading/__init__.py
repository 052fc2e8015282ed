"""The instructor's grader behind ``lora-course grade``, one concept per module.

items (graded items from solution metadata) -> assemble (instructor cells + the student's answer cells)
-> sandbox (a fenced kernel) -> probe (data handed back) -> verdict (points, decided here) -> report
(CSV and feedback); batch runs it over a folder of submissions.
"""
