"""Synthetic wake-word training audio from every offline TTS on the machine.

Run ``python -m training.synth --help``. See README.md in this folder.
"""
