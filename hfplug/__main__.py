"""``python -m hfplug`` is the ``hfplug`` command (so ``accelerate launch -m hfplug train`` works)."""

from hfplug.cli import main

if __name__ == "__main__":
    main()
