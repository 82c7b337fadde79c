"""Models: grid encoding, harmonizer, continuer, sampling, device choice. Torch only here and in training/."""
