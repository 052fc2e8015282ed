"""lora_course: LoRA (Hu et al., 2021) from first principles in numpy.

Importing this package has no side effects: no printing, no seeding, no plotting backend changes.
"""

from importlib.metadata import PackageNotFoundError, version

from .checks import check
from .layer import LoRA, init_lora, linear_lora_backward, linear_lora_forward, lora_backward, lora_forward, scale_factor
from .merge import Adapter, MergedWeight, merge, merged_delta, switch, unmerge

try:
    __version__ = version("lora-course")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "Adapter", "LoRA", "MergedWeight", "check", "init_lora", "linear_lora_backward", "linear_lora_forward",
    "lora_backward", "lora_forward", "merge", "merged_delta", "scale_factor", "switch", "unmerge",
]
