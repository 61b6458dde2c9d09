"""wmnb: working memory of naturalistic objects in recurrent networks.

The package behind the wmnb book. Data flow, one way:
stimuli -> perception (frozen CNN, once per image) -> tasks (index arrays) -> models -> training ->
recording -> analysis -> chapters.
"""
__version__ = "0.1.0"
