"""Note generators and discriminators (plain ``nn.Module``s with dataclass configs); see :mod:`.families`."""
