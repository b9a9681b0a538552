"""Evaluation: the attribute judge, metrics, ``evaluate(pipeline)``, the report and the ablation.

SynthBirds knows the truth of every image, so every claim of the paper becomes a number:
``judge`` (a small CNN reading crown/wing/belly/beak/facing/background off an image),
``metrics`` (k-means, ROC AUC, CIEDE2000, attribute accuracy), ``evaluate`` (the DESIGN.md §4
JSON), ``report`` (markdown + figures) and ``ablation`` (gan / gan-cls / gan-int / gan-int-cls).
Nothing is imported here, so ``import t2i_core.eval`` stays cheap.
"""
