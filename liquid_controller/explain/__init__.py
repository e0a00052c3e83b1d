"""Audit a policy: neuron activity, a decision tree extracted from it, and camera saliency.

``liquid-controller explain`` (:mod:`liquid_controller.cli.explain`) runs
:func:`~liquid_controller.explain.run.explain` on episodes from a bag
(:mod:`~liquid_controller.explain.episode`) and writes the report
(:mod:`~liquid_controller.explain.report`). Occlusion saliency runs on the torch-free
artifact; only :mod:`~liquid_controller.explain.saliency_torch` imports torch.
"""

from liquid_controller.explain.episode import ExplainEpisode, bag_dataset_config, episodes_from_bag
from liquid_controller.explain.model import ExplainedModel, load_explained_model
from liquid_controller.explain.run import ExplainOptions, Explanation, explain

__all__ = [
    "ExplainEpisode",
    "ExplainOptions",
    "ExplainedModel",
    "Explanation",
    "bag_dataset_config",
    "episodes_from_bag",
    "explain",
    "load_explained_model",
]
