"""The shared kernel: what every part needs and no part owns."""
