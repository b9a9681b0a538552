"""Training loops (paper §3.2, §4.2–4.4, §5).

- ``text_trainer``: φ (char-CNN-RNN) and θ (image CNN) with the DS-SJE loss → ``train-text``;
  ``text_data`` (in-memory class-balanced batches) and ``text_run`` (run-folder bookkeeping).
- ``losses``, ``gan_trainer``: GAN / GAN-CLS / GAN-INT / GAN-INT-CLS → ``train``.
- ``style_trainer``: the style encoder S (§4.4) → ``train-style``.

Every trainer writes its resolved config to ``RUN/config.json`` first, checkpoints atomically
with exact resume, and ends with a weights folder in ``RUN/weights/``.
"""
