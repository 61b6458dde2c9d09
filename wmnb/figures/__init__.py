"""Every figure of the book, one module per topic in chapter order, all in one style (:mod:`.style`: the palette,
the rcParams, the shared drawing helpers): :mod:`.stimuli` (chapter 1), :mod:`.perception` (2), :mod:`.tasks` (3),
:mod:`.behaviour` (4), :mod:`.relevance` (5), :mod:`.cross_task` (6), :mod:`.orthogonality` (7), :mod:`.dynamics` (8),
:mod:`.procrustes` (9), :mod:`.perturbation` (10), and the interactive explorers with their static fallback
(:mod:`.explorer`). A figure function takes the tidy tables of :mod:`wmnb.experiments` (or a stimulus set /
trials) and returns the Figure; it computes nothing the science modules do not.
"""
