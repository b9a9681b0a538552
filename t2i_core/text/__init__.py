"""Text side of the paper (§3.2): Reed's alphabet, char-CNN-RNN φ, image encoder θ, DS-SJE."""
