"""Appendix 06: the course's numpy LoRA next to PyTorch and Hugging Face PEFT (optional extra ``[torch]``).

Nothing in the numpy lessons imports this package; it needs ``pip install -e '.[torch]'``.

- ``lora_course.torch_bridge.toy``: lesson 03's toy transformer as a ``torch.nn.Module``, loaded from our weights.
- ``lora_course.torch_bridge.lora``: a hand-written torch LoRA linear layer and the check of a student's one.
- ``lora_course.torch_bridge.agreement``: numpy vs hand-written torch vs PEFT, forward, gradients and merges.
- ``lora_course.torch_bridge.bench``: the paper's Table 1 re-measured with torch (CUDA events on a GPU).
- ``lora_course.torch_bridge.bench_report``: that measurement's report, Markdown table and findings.
- ``lora_course.torch_bridge.bench_cli``: ``lora-course bench --backend torch``, the measurement then its report.
- ``lora_course.torch_bridge.offline``: the Hugging Face libraries kept offline and quiet; done here, on import,
  so that importing any module of this package before PEFT is enough.
"""
from lora_course.torch_bridge.offline import work_offline

work_offline()
