"""``python -m creative_gan`` is the ``creative-gan`` command."""
import sys

from .cli import main

sys.exit(main())
