"""Prediction on a Ray cluster (or a local Ray instance): the optional ``cluster`` extra.

``predict PATH... --engine ray --out OUT.parquet`` runs the same decode and the same batch
inference as the single-machine ``predict``, spread over Ray Data tasks (decoding) and an actor
pool (the network, loaded once per actor), and writes one Parquet row per input file.

This package is the only place that imports Ray, and only inside functions: importing
:mod:`pneumo_desktop.cluster.ray_predict` (the command line does, to add the options) costs no
more than the standard library, and the desktop app never imports it. It may import
``pneumo_desktop.core``, ``paths`` and ``process``; never the GUI or Qt.
"""
